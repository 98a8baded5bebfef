"""Where one shopper's learned ranking spends its time over a large synthetic catalogue.

Builds the synthetic catalogue of ``bench/serve.py --ranker-from`` (100k products
by default: ``kgrec.api.synthetic.synthetic_artifacts`` with the trained ranking
of ``--ranker-from`` over generated tables, ``bench/synthetic_ranking.py``), then
times ``PersonalRanking.served`` for ``--shoppers`` shoppers, in process, one
torch thread, and prints each stage's mean milliseconds per request: every
generator's scores, the views, the candidates, the features, the ranker and the
fresh slots. The service adds its HTTP and filter work to these.

The service reads the linear generators (GNN, ALS, text-kNN) of a catalogue
this large through their retrieval indexes (``gnn/ranking/retrieval.py``); the
bench prints how far the served lists stay from the dense scans' (the same
shoppers' top 10 and top 100), then four readings side by side, in
rounds over the same shoppers, each first in turn: through the indexes, the
list's head only (the service's: its first ``candidates_served`` positions, as
an unfiltered request reads them); the same with the whole list (before the
service asked for the head alone); the dense scans; and the dense scans with
every view's dense passes (before ``gnn/ranking/sparse_rows.py``).

    .venv/bin/python bench/stage_budget.py --ranker-from .kgrec/artifacts/<version>

With ``--version`` it serves an artifact version as it is instead (its own
products and shoppers), and ``--exact-max-items 0`` reads even a small
catalogue through its retrieval indexes: how far an index moves the lists of a
team's own catalogue.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch


def timed(totals: dict[str, float], label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn``, adding its wall time to ``totals[label]``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[label] += time.perf_counter() - start

    return wrapper


def no_rows(
    s: torch.Tensor,
    seen_rows: torch.Tensor,
    seen_cols: torch.Tensor,
    keep: int,
    base: object = None,
) -> None:
    """A sparse view that reads no row: every view takes the dense passes."""


def main() -> None:
    """Parse arguments, build the catalogue, print the budget and the views' comparison."""
    from serve_steps import bound_ranking
    from synthetic_ranking import synthetic_ranking

    import kgrec.gnn.ranking.candidates as candidates
    import kgrec.gnn.ranking.features as features
    import kgrec.gnn.ranking.fresh_order as fresh_order_module
    import kgrec.gnn.ranking.retrieval as retrieval_module
    import kgrec.gnn.ranking.staged as staged_module
    from kgrec.api.synthetic import synthetic_artifacts
    from kgrec.api.wiring import index_options
    from kgrec.gnn.ranking.staged import StagedRanking
    from kgrec.settings import Settings

    # the functions timed by name where the stages call them (checked before the build)
    stage_steps = [(candidates, n) for n in ("generator_views", "top_candidates")]
    stage_steps += [(candidates, "candidate_features")]
    slot_steps = [(fresh_order_module, n) for n in ("fresh_order_scores", "drawn_fresh_order")]
    slot_steps += [(staged_module, "served_list")]
    missing = [f"{m.__name__}.{n}" for m, n in stage_steps + slot_steps if not hasattr(m, n)]
    if missing:
        raise SystemExit(f"the stages no longer call {missing}: update the bench")

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--ranker-from", type=Path, help="a trained version (synthetic tables)")
    source.add_argument("--version", type=Path, help="an artifact version, served as it is")
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--shoppers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=8, help="rounds of the views' comparison")
    parser.add_argument("--data-dir", type=Path, default=Path(".kgrec/bench-stages"))
    parser.add_argument(
        "--exact-max-items",
        type=int,
        default=None,
        help="the retrieval threshold (default: the serving settings'; 0 reads a small "
        "catalogue through its indexes)",
    )
    args = parser.parse_args()

    start = time.perf_counter()
    version = args.version
    if version is None:
        root = args.data_dir / "versions"
        shutil.rmtree(root, ignore_errors=True)
        artifacts = synthetic_artifacts(args.products, num_users=10_000, text_dim=384)
        writer = synthetic_ranking(args.ranker_from, args.products, 10_000)
        version = artifacts.save(root, writers=[writer])
        del artifacts
    settings = Settings(data_dir=version.parent)
    index = index_options(settings)
    head = settings.serving.candidates_served
    if args.exact_max_items is not None:
        index = dataclasses.replace(index, exact_max_items=args.exact_max_items)
    bound = bound_ranking(version, index)
    if bound is None:
        raise SystemExit(f"{version} holds no ranker")
    ranking, staged = bound
    print(
        f"{len(staged.item_count):,} products, {len(staged.generators)} generators, "
        f"ready in {time.perf_counter() - start:.0f} s"
    )
    torch.set_num_threads(1)

    def serve(rows: range, stages: StagedRanking = staged, limit: int | None = head) -> list[float]:
        out = []
        for row in rows:
            user = row % ranking.num_users  # a small version's shoppers in turn
            t0 = time.perf_counter()
            ranking.served(stages, user, ranking.history(user), shopper_id=None, limit=limit)
            out.append(time.perf_counter() - t0)
        return out

    serve(range(20))  # first touches: the padded tables, the fresh products
    totals: dict[str, float] = defaultdict(float)
    for module, name in stage_steps:
        setattr(module, name, timed(totals, name, getattr(module, name)))
    for module, name in slot_steps:
        setattr(module, name, timed(totals, f"slots: {name}", getattr(module, name)))
    for name, generator in staged.generators.items():
        generator.scores = timed(totals, f"scores: {name}", generator.scores)  # type: ignore[method-assign]
    for name, reader in staged.retrieval.items():
        reader.retrieve = timed(totals, f"retrieve: {name}", reader.retrieve)  # type: ignore[method-assign]
    rows_class = retrieval_module.RetrievedRows
    rows_class.fill = timed(totals, "retrieved: fill", rows_class.fill)  # type: ignore[method-assign]
    assert staged.ranker is not None
    staged.ranker.score = timed(totals, "ranker", staged.ranker.score)  # type: ignore[method-assign]
    times = serve(range(100, 100 + args.shoppers))
    total = sum(times) / len(times) * 1e3
    print(f"\n== stages, mean ms per request over {len(times)} shoppers")
    for label, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"{label:32s} {seconds / len(times) * 1e3:6.2f}")
    print(f"{'other':32s} {total - sum(totals.values()) / len(times) * 1e3:6.2f}")
    p50, p99 = np.percentile(np.asarray(times) * 1e3, [50, 99])
    print(f"{'served(), whole':32s} {total:6.2f}  (p50 {p50:.1f}, p99 {p99:.1f})")

    dense = staged.with_retrieval({})
    print(f"\n== {len(staged.retrieval)} generators through indexes: {', '.join(staged.retrieval)}")
    overlap: dict[int, list[float]] = {10: [], 100: []}
    same = 0
    for row in range(400, 400 + args.shoppers):
        user = row % ranking.num_users
        history = ranking.history(user)
        a = ranking.served(staged, user, history, shopper_id=None)[0]
        b = ranking.served(dense, user, history, shopper_id=None)[0]
        same += int(np.array_equal(a[:10], b[:10]))
        for k, values in overlap.items():
            values.append(len(set(a[:k].tolist()) & set(b[:k].tolist())) / k)
    print(
        f"served lists against the dense scans: top 10 the same for {same} of "
        f"{args.shoppers} shoppers; overlap@10 {np.mean(overlap[10]):.3f}, "
        f"@100 {np.mean(overlap[100]):.3f}"
    )

    print(f"\n== four readings, {args.rounds} rounds over the same shoppers, in turn first")
    namespace = vars(features)  # the name its views call
    sparse_view = namespace["sparse_view"]
    readings = [  # label, stages, the views' sparse reading, the positions ranked
        ("indexes, head (served)", staged, sparse_view, head),
        ("indexes, whole list", staged, sparse_view, None),
        ("dense scans", dense, sparse_view, head),
        ("dense scans and views", dense, no_rows, head),
    ]
    results: dict[str, list[float]] = {label: [] for label, *_ in readings}
    per_round = max(args.shoppers // args.rounds, 1)
    for r in range(args.rounds):
        rows = range(600 + r * per_round, 600 + (r + 1) * per_round)
        turn = r % len(readings)
        for label, bound_stages, chooser, limit in readings[turn:] + readings[:turn]:
            namespace["sparse_view"] = chooser
            results[label] += serve(rows, bound_stages, limit)
    namespace["sparse_view"] = sparse_view
    base = float(np.median(results["dense scans and views"]))
    for label, values in results.items():
        p50, p99 = np.percentile(np.asarray(values) * 1e3, [50, 99])
        ratio = float(np.median(values)) / base
        print(f"{label:24s} served() p50 {p50:.1f} ms  p99 {p99:.1f} ms  ({ratio:.2f}x)")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # synthetic_ranking, serve_steps
    main()
