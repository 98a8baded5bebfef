"""Does a shopper's served list depend on the batch it is ranked in?

``kgrec evaluate`` ranks its test users in batches (``gnn/evaluation.py``); ``kgrec
serve`` ranks one shopper per request. This binds an artifact version's stored
ranking as the service does and ranks every shopper of the version both ways:
in batches of ``--batch`` and alone, both under the BLAS thread count the
service scores the catalogue with (``serving_blas_threads``: the scores' last
bits depend on it too). It prints how many shoppers' served lists (every
position) or ranker scores differ, and how many differ in their top 20. Any
difference means a shopper's list depends on the batch it is ranked in, so a
batch-scored figure could count lists no request is answered with.

    .venv/bin/python bench/batch_consistency.py .kgrec/artifacts/<version> [--batch 4096] \
        [--threads 2]

``--threads N`` also ranks every shopper alone on N BLAS threads and counts the
shoppers whose lists differ from the served thread count's.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from kgrec.gnn.artifacts import ArtifactSet
from kgrec.gnn.baselines.base import serving_blas_threads
from kgrec.gnn.ranking.served import load_ranking


def report(
    what: str,
    ranked: list[tuple[torch.Tensor, torch.Tensor]],
    reference: list[tuple[torch.Tensor, torch.Tensor]],
    top: int,
    start: float,
) -> None:
    """Print how many shoppers' lists, ranker scores and heads differ between two passes."""
    lists = scores = head = 0
    for (served, ranker), (served_ref, ranker_ref) in zip(ranked, reference, strict=True):
        lists += not torch.equal(served, served_ref)
        scores += not torch.equal(ranker.nan_to_num(-1e30), ranker_ref.nan_to_num(-1e30))
        head += not torch.equal(served[:top], served_ref[:top])
    print(
        f"{len(ranked)} shoppers, {what} ({time.perf_counter() - start:.0f} s): served lists "
        f"differ for {lists}, ranker scores for {scores}, the top {top} for {head}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version", type=Path, help="an artifact version directory")
    parser.add_argument(
        "--batch", type=int, default=4096, help="users per batch (kgrec evaluate: 4096)"
    )
    parser.add_argument("--top", type=int, default=20, help="the head compared apart")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="also rank every shopper alone with numpy's BLAS on this many threads "
        "and compare with the served thread count",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    artifacts = ArtifactSet.load(args.version)
    stored = load_ranking(args.version)
    if stored is None:
        print(f"{args.version} holds no trained ranking (run `kgrec train` and `kgrec embed`)")
        return 1
    staged = stored.bind(
        torch.from_numpy(np.asarray(artifacts.user_graph)),
        torch.from_numpy(np.asarray(artifacts.product_graph)),
        torch.from_numpy(np.asarray(artifacts.product_text)),
    )
    users = torch.arange(len(artifacts.users))
    history = stored.interactions
    threads = serving_blas_threads(len(artifacts.products))
    start = time.perf_counter()
    batched = []
    with threadpool_limits(threads, "blas"):
        for first in range(0, len(users), args.batch):
            batched += staged.ranked(users[first : first + args.batch], history)
        alone = [staged.ranked(users[u : u + 1], history)[0] for u in range(len(users))]
    report(f"batches of {args.batch} against one at a time", batched, alone, args.top, start)
    if args.threads is not None and args.threads == threads:
        print(f"--threads {args.threads} is the served thread count: nothing to compare")
    elif args.threads is not None:
        start = time.perf_counter()
        with threadpool_limits(args.threads, "blas"):
            other = [staged.ranked(users[u : u + 1], history)[0] for u in range(len(users))]
        served = "every core" if threads is None else f"{threads} thread(s)"
        report(
            f"one at a time, BLAS on {args.threads} thread(s) against {served} as served",
            other,
            alone,
            args.top,
            start,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
