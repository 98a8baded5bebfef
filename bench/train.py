"""Training speed and peak memory per mode on a synthetic graph.

Builds a seeded synthetic catalogue graph directly as model inputs (default 100k
products / 50k users / 1M interactions, 1k brands, 200 categories, 384-d text-like
product features), then times BPR steps of the GNN in full-batch and in
neighbour-sampled mini-batch mode, each in its own process so that peak RSS is
per mode. Prints seconds per step, the extrapolated seconds per epoch (one pass
over the interactions), and peak RSS.

    .venv/bin/python bench/train.py [--products N --users N --interactions N --steps N]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from dataclasses import replace

import torch


def synthetic_graph(products: int, users: int, interactions: int, dim: int, seed: int) -> object:
    """GraphInputs of a synthetic catalogue (popularity-skewed interactions)."""
    from gnn.snapshot import BRAND, CATEGORY, INTERACTED, PRODUCT, USER, reverse
    from gnn.trainer import GraphInputs

    g = torch.Generator().manual_seed(seed)
    brands, categories = 1_000, 200
    x = {
        PRODUCT: torch.nn.functional.normalize(torch.randn(products, dim, generator=g), dim=1),
        BRAND: torch.nn.functional.normalize(torch.randn(brands, dim, generator=g), dim=1),
        CATEGORY: torch.nn.functional.normalize(torch.randn(categories, dim, generator=g), dim=1),
        USER: torch.zeros(users, 0),
    }
    weights = 1.0 / torch.arange(1, products + 1, dtype=torch.float64) ** 0.8
    items = torch.multinomial(weights, interactions, replacement=True, generator=g)
    inter = torch.stack([torch.randint(0, users, (interactions,), generator=g), items])
    has_brand = torch.stack(
        [torch.arange(products), torch.randint(0, brands, (products,), generator=g)]
    )
    in_cat = torch.stack(
        [torch.arange(products), torch.randint(0, categories, (products,), generator=g)]
    )
    edges = {
        INTERACTED: inter,
        (PRODUCT, "has_brand", BRAND): has_brand,
        (PRODUCT, "in_category", CATEGORY): in_cat,
    }
    edges.update({reverse(e): ei.flip(0) for e, ei in list(edges.items())})
    nodes = {PRODUCT: products, BRAND: brands, CATEGORY: categories, USER: users}
    return GraphInputs(x, edges, nodes)


def child(args: argparse.Namespace) -> None:
    """Time ``args.steps`` BPR steps in ``args.mode``; print one JSON line."""
    from gnn.config import GNNConfig
    from gnn.snapshot import INTERACTED
    from gnn.trainer import Trainer

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    graph = synthetic_graph(args.products, args.users, args.interactions, 384, 0)
    build = time.perf_counter() - t0
    pairs = graph.edge_index[INTERACTED]  # type: ignore[attr-defined]
    mode, _, sampler = args.mode.partition("/")
    config = replace(
        GNNConfig(),
        mode=mode,
        sampler=sampler or "auto",
        epochs=1,
        steps_per_epoch=args.steps,
        batch_size=args.batch,
    )
    result = Trainer(config, "cpu", show_progress=False).fit(graph, pairs)  # type: ignore[arg-type]
    per_step = result.epoch_seconds[0] / args.steps
    steps_per_epoch = -(-args.interactions // args.batch)
    print(
        json.dumps(
            {
                "mode": args.mode,
                "build_s": build,
                "step_s": per_step,
                "epoch_s": per_step * steps_per_epoch,
                "steps_per_epoch": steps_per_epoch,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=5, help="BPR steps timed per mode")
    parser.add_argument("--batch", type=int, default=8192, help="positive pairs per step")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--modes",
        default="full,minibatch",
        help="comma-separated; minibatch/torch or minibatch/pyg picks the sampler "
        "(plain minibatch = KGREC_GNN_SAMPLER=auto)",
    )
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        child(args)
        return
    print(
        f"synthetic graph: {args.products:,} products, {args.users:,} users, "
        f"{args.interactions:,} interactions; {args.steps} BPR steps of {args.batch} pairs, "
        f"{args.threads} threads, cpu"
    )
    for mode in args.modes.split(","):
        cmd = [sys.executable, __file__, *sys.argv[1:], "--mode", mode]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"{mode}: failed\n{out.stderr[-2000:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{mode:>15}: {r['step_s']:.2f} s/step, {r['epoch_s']:.0f} s/epoch "
            f"({r['steps_per_epoch']} steps), peak RSS {r['peak_rss_mb']:,.0f} MB "
            f"(graph built in {r['build_s']:.1f} s)"
        )


if __name__ == "__main__":
    main()
