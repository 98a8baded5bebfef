"""Training speed and peak memory per mode on a synthetic graph.

Builds the seeded catalogue `kgrec generate` writes, directly as model inputs (default 100k
products / 50k users / 1M interactions, 1k brands, 200 leaf categories, 384-d text-like
product features), then times BPR steps of the GNN in full-batch and in
neighbour-sampled mini-batch mode, each in its own process so that peak RSS is
per mode. Prints seconds per step, the extrapolated seconds per epoch (one pass
over the interactions), and peak RSS.

    .venv/bin/python bench/train.py [--products N --users N --interactions N --steps N]
    python bench/train.py --device cuda   # on a GPU (bench/device.py runs both)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from torch_geometric.data import HeteroData


def synthetic_graph(
    products: int, users: int, interactions: int, dim: int, seed: int
) -> HeteroData:
    """The HeteroData of the catalogue ``kgrec generate`` writes with these sizes and seed.

    The structure (brands, category tree, Zipf-skewed interactions) is
    :class:`kgrec.loaders.generator.CatalogueGenerator`'s, indexed in memory instead of
    imported and exported through the graph server; the features are random unit
    vectors of the text width (their values do not change the step time).
    """
    import numpy as np
    import pandas as pd
    from torch_geometric.data import HeteroData

    from kgrec.gnn.schema import (
        BRAND,
        CATEGORY,
        HAS_BRAND,
        IN_CATEGORY,
        INTERACTED,
        PRODUCT,
        SUBCATEGORY_OF,
        USER,
        with_reverse,
    )
    from kgrec.loaders.constants import BRANDS, CATEGORIES, INTERACTIONS, PRODUCTS
    from kgrec.loaders.generator import CatalogueGenerator
    from kgrec.typing import BRAND_ID, CATEGORY_IDS, ID, PARENT_ID, PRODUCT_ID, USER_ID

    frames = CatalogueGenerator(
        products=products, users=users, interactions=interactions, brands=1_000,
        categories=200, seed=seed,
    ).frames()  # fmt: skip

    def number(ids: pd.Series) -> torch.Tensor:
        """``"p123"`` -> 123 (the generator numbers every entity kind from 0)."""
        return torch.tensor(ids.str[1:].astype(np.int64).to_numpy())

    def index(values: pd.Series, universe: pd.Series) -> torch.Tensor:
        lookup = {v: i for i, v in enumerate(universe)}
        return torch.tensor([lookup[v] for v in values], dtype=torch.long)

    cats, prods, inter = frames[CATEGORIES], frames[PRODUCTS], frames[INTERACTIONS]
    n_brands, n_cats = len(frames[BRANDS]), len(cats)
    g = torch.Generator().manual_seed(seed)

    def unit(n: int) -> torch.Tensor:
        return torch.nn.functional.normalize(torch.randn(n, dim, generator=g), dim=1)

    x = {PRODUCT: unit(products), BRAND: unit(n_brands), CATEGORY: unit(n_cats)}
    x[USER] = torch.zeros(users, 0)
    all_products = torch.arange(products)
    child = cats[cats[PARENT_ID].notna()]
    edges = {
        INTERACTED: torch.stack([number(inter[USER_ID]), number(inter[PRODUCT_ID])]),
        HAS_BRAND: torch.stack([all_products, number(prods[BRAND_ID])]),
        IN_CATEGORY: torch.stack([all_products, index(prods[CATEGORY_IDS], cats[ID])]),
        SUBCATEGORY_OF: torch.stack(
            [index(child[ID], cats[ID]), index(child[PARENT_ID], cats[ID])]
        ),
    }
    nodes = {PRODUCT: products, BRAND: n_brands, CATEGORY: n_cats, USER: users}
    data = HeteroData()
    for t, n in nodes.items():
        data[t].num_nodes, data[t].x = n, x[t]
    for e, ei in with_reverse(edges).items():
        data[e].edge_index = ei
    return data


def child(args: argparse.Namespace) -> None:
    """Time ``args.steps`` BPR steps in ``args.mode``; print one JSON line."""
    from kgrec.gnn.config import GNNConfig
    from kgrec.gnn.snapshot import INTERACTED
    from kgrec.gnn.trainer import Trainer

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    graph = synthetic_graph(args.products, args.users, args.interactions, 384, 0)
    build = time.perf_counter() - t0
    pairs = graph[INTERACTED].edge_index
    mode, _, sampler = args.mode.partition("/")
    if sampler and mode != "minibatch":
        raise SystemExit(f"--modes {args.mode}: only minibatch takes a sampler (/torch, /pyg)")
    config = replace(
        GNNConfig(),
        mode=mode,
        sampler=sampler or "auto",
        epochs=1,
        steps_per_epoch=args.steps,
        batch_size=args.batch,
    )
    result = Trainer(config, args.device, show_progress=False).fit(graph, pairs)
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
                "peak_cuda_mb": (
                    torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else 0
                ),
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
    parser.add_argument("--device", default="cpu", help="torch device the steps run on (cuda)")
    parser.add_argument(
        "--modes",
        default="full,minibatch",
        help="comma-separated; minibatch/torch or minibatch/pyg picks the sampler "
        "(plain minibatch = KGREC_GNN__SAMPLER=auto)",
    )
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        child(args)
        return
    print(
        f"synthetic graph: {args.products:,} products, {args.users:,} users, "
        f"{args.interactions:,} interactions; {args.steps} BPR steps of {args.batch} pairs, "
        f"{args.threads} threads, {args.device}"
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
            f"({r['steps_per_epoch']} steps), peak RSS {r['peak_rss_mb']:,.0f} MB"
            + (f", peak CUDA {r['peak_cuda_mb']:,.0f} MB" if r["peak_cuda_mb"] else "")
            + f" (graph built in {r['build_s']:.1f} s)"
        )


if __name__ == "__main__":
    main()
