"""How well a query is served: the search fusion on held-out interactions, per query weight.

``POST /search`` (and ``/recommendations`` with a query) answers with the
reciprocal-rank fusion of the shopper's learned order and the query's text order
(:func:`kgrec.api.learned.fuse_with_query`, weight ``KGREC_SERVING__W_QUERY``).
``kgrec evaluate`` measures the learned order alone; this measures the fusion.

The queries are the catalogue's category names (on MovieLens-100K the 19 genres:
"Horror", "Film-Noir", ...), typed by shoppers of a split plan's view. For each
test shopper and each category holding at least one of its test products, the
answer (history excluded, as served) is scored by:

- **recall@K**: the share of the shopper's test products in that category found
  in the top K: the query narrowed the answer to what this shopper did next;
- **on-query@K**: the share of the top K in the queried category: the answer
  follows the query whoever asks.

Beside the fusion at each weight, in the same run: the personal order alone
(weight 0), the text order alone, and the personal order filtered to the
category (what a shopper gets from a category filter instead of a query: no
text model can beat it on on-query@K, so it bounds what the query could reach).

The staged ranking is trained as ``bench/ranking_ablation.py`` trains it (same
cache of fitted generators), so the personal order is the one ``kgrec evaluate``
scores as ``kgrec``.

    KGREC_DATA_DIR=/tmp/kgrec-eval .venv/bin/python bench/search_quality.py --seed 0
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import numpy as np
import torch

from kgrec.api.learned import fuse_with_query
from kgrec.gnn.baselines import history_matrix
from kgrec.gnn.evaluation import interactions_of, product_text_vectors
from kgrec.gnn.protocols import build_plan
from kgrec.gnn.ranking.staged import StagedRanking
from kgrec.gnn.schema import NUM_PRODUCT_EXTRA, PRODUCT
from kgrec.gnn.snapshot import Snapshot
from kgrec.gnn.splits import SplitPlan, SplitView
from kgrec.settings import Settings
from kgrec.text_encoders import load_encoder

from ranking_ablation import fitted_generators, newest_snapshot, trained_ranking  # isort: skip

IN_CATEGORY = ("product", "in_category", "category")
VIEWS = ("warm", "cold_user@0", "cold_user@3")


def category_members(snapshot: Snapshot) -> tuple[list[str], np.ndarray]:
    """(category names, bool [C, P] product in category) of ``snapshot``."""
    names = [str(n) for n in snapshot.categories["name"].tolist()]
    edges = snapshot.data[IN_CATEGORY].edge_index.numpy()
    members = np.zeros((len(names), int(snapshot.data[PRODUCT].num_nodes)), dtype=bool)
    members[edges[1], edges[0]] = True
    return names, members


def score_view(
    staged: StagedRanking,
    plan: SplitPlan,
    view: SplitView,
    sims: np.ndarray,
    members: np.ndarray,
    weights: list[float],
    *,
    k: int,
    served_limit: int,
    text_candidates: int,
) -> dict[str, tuple[float, float, int]]:
    """Per method: mean recall@k, mean on-query@k, and the (shopper, category) queries."""
    history = plan.history(view)
    users = view.test_users
    methods = [f"fused w={w:g}" for w in weights] + ["text only", "category filter"]
    sums = {m: [0.0, 0.0] for m in methods}
    queries = 0
    for start in range(0, len(users), 256):
        batch = users[start : start + 256]
        seen = history_matrix(history, batch, plan.num_items).bool().numpy()
        target = history_matrix(view.test, batch, plan.num_items).bool().numpy()
        for i, (served, _) in enumerate(staged.ranked(batch, history)):
            personal = served.numpy().astype(np.int64)
            head = personal[: max(served_limit, k)]
            for c in np.flatnonzero((target[i][None, :] & members).any(1)):
                wanted = target[i] & members[c]
                answers = {
                    f"fused w={w:g}": fuse_with_query(head, sims[c], w, text_candidates)[0]
                    for w in weights
                }
                answers["text only"] = np.argsort(-sims[c], kind="stable")
                answers["category filter"] = personal[members[c][personal]]
                for name, rows in answers.items():
                    top = rows[~seen[i][rows]][:k]
                    sums[name][0] += wanted[top].sum() / wanted.sum()
                    sums[name][1] += members[c][top].sum() / k
                queries += 1
    return {m: (r / max(queries, 1), q / max(queries, 1), queries) for m, (r, q) in sums.items()}


def main() -> None:
    """Train (or load) one seed's staged ranking, then print the search table per view."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--snapshot", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/kgrec-rank-cache"))
    parser.add_argument("--weights", default="0,0.5,1,2,4,8", help="query weights to compare")
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    settings = Settings()
    data_dir = Path(os.environ.get("KGREC_DATA_DIR", "/tmp/kgrec-eval"))
    snapshot = Snapshot.load(args.snapshot or newest_snapshot(data_dir))
    plan = build_plan(interactions_of(snapshot), "kgrec", args.seed)
    models, _ = fitted_generators(snapshot, plan, args.seed, args.cache / "kgrec")
    staged = trained_ranking(models, plan, args.seed, [])
    names, members = category_members(snapshot)
    encoder = load_encoder(settings.text, settings.paths.onnx_models)
    text_dim = int(snapshot.data[PRODUCT].x.shape[1]) - NUM_PRODUCT_EXTRA
    texts = torch.nn.functional.normalize(product_text_vectors(snapshot, text_dim).float(), dim=1)
    queries = torch.as_tensor(np.asarray(encoder.encode(names), np.float32))
    sims = (torch.nn.functional.normalize(queries, dim=1) @ texts.T).numpy()  # [C, P]
    weights = [float(w) for w in args.weights.split(",")]
    serving = settings.serving
    print(
        f"seed {args.seed}, {len(names)} category queries, k={args.k}, "
        f"served w_query {serving.w_query:g}; recall@{args.k} of the shopper's next products "
        f"in the category / on-query@{args.k}"
    )
    for name in VIEWS:
        table = score_view(
            staged,
            plan,
            plan.views[name],
            sims,
            members,
            weights,
            k=args.k,
            served_limit=serving.candidates_served,
            text_candidates=serving.candidates_text,
        )
        count = next(iter(table.values()))[2]
        print(f"\n{name} ({count} shopper x category queries)")
        print(f"| method | recall@{args.k} | on-query@{args.k} |")
        print("| --- | --- | --- |")
        for method, (recall, on_query, _) in table.items():
            print(f"| {method} | {recall:.4f} | {on_query:.3f} |")


if __name__ == "__main__":
    main()
