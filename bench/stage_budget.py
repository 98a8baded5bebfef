"""Where one shopper's learned ranking spends its time over a large synthetic catalogue.

Builds the synthetic catalogue of ``bench/serve.py --ranker-from`` (100k products
by default: ``kgrec.api.synthetic.synthetic_artifacts`` with the trained ranking
of ``--ranker-from`` over generated tables, ``bench/synthetic_ranking.py``), then
times ``PersonalRanking.served`` for ``--shoppers`` shoppers, in process, one
torch thread, and prints each stage's mean milliseconds per request: every
generator's scores, the views, the candidates, the features, the ranker and the
fresh slots. The service adds its HTTP and filter work to these.

Then the views' two readings of mostly-zero rows side by side, in rounds over
the same shoppers, each reading first in every other round: from their
nonzeros (``gnn/ranking/sparse_rows.py``, the default) and the dense passes
every row took before.

    .venv/bin/python bench/stage_budget.py --ranker-from .kgrec/artifacts/<version>
"""

from __future__ import annotations

import argparse
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


def no_rows(s: torch.Tensor, seen_rows: torch.Tensor, seen_cols: torch.Tensor, keep: int) -> None:
    """A sparse view that reads no row: every view takes the dense passes."""


def main() -> None:
    """Parse arguments, build the catalogue, print the budget and the views' comparison."""
    from serve_steps import bound_ranking
    from synthetic_ranking import synthetic_ranking

    import kgrec.gnn.ranking.features as features
    import kgrec.gnn.ranking.staged as staged_module
    from kgrec.api.synthetic import synthetic_artifacts

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ranker-from", type=Path, required=True, help="a trained version")
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--shoppers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=8, help="rounds of the views' comparison")
    parser.add_argument("--data-dir", type=Path, default=Path(".kgrec/bench-stages"))
    args = parser.parse_args()

    root = args.data_dir / "versions"
    shutil.rmtree(root, ignore_errors=True)
    start = time.perf_counter()
    artifacts = synthetic_artifacts(args.products, num_users=10_000, text_dim=384)
    writer = synthetic_ranking(args.ranker_from, args.products, 10_000)
    version = artifacts.save(root, writers=[writer])
    del artifacts
    bound = bound_ranking(version)
    if bound is None:
        raise SystemExit(f"{version} holds no ranker")
    ranking, staged = bound
    print(
        f"{args.products:,} products, {len(staged.generators)} generators, "
        f"built in {time.perf_counter() - start:.0f} s"
    )
    torch.set_num_threads(1)

    def serve(rows: range) -> list[float]:
        out = []
        for row in rows:
            t0 = time.perf_counter()
            ranking.served(staged, row, ranking.history(row), shopper_id=None)
            out.append(time.perf_counter() - t0)
        return out

    serve(range(20))  # first touches: the padded tables, the fresh products
    totals: dict[str, float] = defaultdict(float)
    for name in ("generator_views", "top_candidates", "candidate_features"):
        setattr(features, name, timed(totals, name, getattr(features, name)))
    for name in ("fresh_order_scores", "drawn_fresh_order", "served_list"):
        setattr(staged_module, name, timed(totals, f"slots: {name}", getattr(staged_module, name)))
    for name, generator in staged.generators.items():
        generator.scores = timed(totals, f"scores: {name}", generator.scores)  # type: ignore[method-assign]
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

    print(f"\n== the views of mostly-zero rows, {args.rounds} alternating rounds")
    results: dict[str, list[float]] = {"from nonzeros": [], "dense passes": []}
    namespace = vars(features)  # the name its views call
    sparse_view = namespace["sparse_view"]
    per_round = max(args.shoppers // args.rounds, 1)
    for r in range(args.rounds):
        rows = range(400 + r * per_round, 400 + (r + 1) * per_round)
        readings = [("from nonzeros", sparse_view), ("dense passes", no_rows)]
        for label, chooser in readings[:: 1 if r % 2 == 0 else -1]:  # each goes first in turn
            namespace["sparse_view"] = chooser
            results[label] += serve(rows)
    namespace["sparse_view"] = sparse_view
    base = float(np.median(results["dense passes"]))
    for label, values in results.items():
        p50, p99 = np.percentile(np.asarray(values) * 1e3, [50, 99])
        ratio = float(np.median(values)) / base
        print(f"{label:14s} served() p50 {p50:.1f} ms  p99 {p99:.1f} ms  ({ratio:.2f}x dense p50)")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # synthetic_ranking, serve_steps
    main()
