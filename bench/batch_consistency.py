"""Does a shopper's served list depend on the batch it is ranked in?

``kgrec evaluate`` ranks its test users in batches (``gnn/evaluation.py``); ``kgrec
serve`` ranks one shopper per request. This binds an artifact version's stored
ranking as the service does and ranks every shopper of the version both ways:
in batches of ``--batch`` and alone. It prints how many shoppers' served lists
(every position) or ranker scores differ, and how many differ in their top 20.
Any difference means the evaluation scored lists the service does not serve.

    .venv/bin/python bench/batch_consistency.py .kgrec/artifacts/<version> [--batch 256]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from kgrec.gnn.artifacts import ArtifactSet
from kgrec.gnn.ranking.served import load_ranking


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version", type=Path, help="an artifact version directory")
    parser.add_argument("--batch", type=int, default=256, help="users per evaluation batch")
    parser.add_argument("--top", type=int, default=20, help="the head compared apart")
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
    start = time.perf_counter()
    batched = []
    for first in range(0, len(users), args.batch):
        batched += staged.ranked(users[first : first + args.batch], history)
    alone = [staged.ranked(users[u : u + 1], history)[0] for u in range(len(users))]
    lists = scores = head = 0
    for (served, ranked), (served_alone, ranked_alone) in zip(batched, alone, strict=True):
        lists += not torch.equal(served, served_alone)
        scores += not torch.equal(ranked.nan_to_num(-1e30), ranked_alone.nan_to_num(-1e30))
        head += not torch.equal(served[: args.top], served_alone[: args.top])
    print(
        f"{len(users)} shoppers, batches of {args.batch} against one at a time "
        f"({time.perf_counter() - start:.0f} s): served lists differ for {lists}, "
        f"ranker scores for {scores}, the top {args.top} for {head}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
