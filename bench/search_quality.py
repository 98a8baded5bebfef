"""How well a query is served: the search fusion on held-out interactions.

``POST /search`` (and ``/recommendations`` with a query) answers with the
reciprocal-rank fusion of the shopper's learned order, the query's text order
(weight ``KGREC_SERVING__W_QUERY``) and, when the query names a category
(:mod:`kgrec.api.query_links`), the shopper's order within it (weight
``KGREC_SERVING__W_LINK``): :func:`kgrec.api.learned.fuse_with_query`, the
served function. ``kgrec evaluate`` measures the learned order alone; this
measures the fusion, on the test shoppers of a split plan's views, with three
sets of queries:

- **names**: each category's name ("Horror", "Film-Noir", ...);
- **paraphrases**: two wordings per MovieLens genre that do not use its name
  (:data:`PARAPHRASES`, written for this bench; "scary movies", "cowboys in the
  wild west"); other catalogues skip them;
- **titles**: the title of the shopper's first test product (a shopper looking
  for one product by name).

For a category query, scored for each test shopper and each category holding at
least one of its test products, with the shopper's history left out as served:
**recall@K**, the share of the shopper's test products in the category found in
the top K (a hit must match the query and be what this shopper did next), and
**on-query@K**, the share of the top K in the category. For a title: whether
that product is in the top K.

Beside the served fusion, in the same run: other query and link weights, the
personal order alone, the text order alone and the personal order filtered to
the category (what a category filter instead of a query gives).

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
from typing import Final

import numpy as np
import torch

from kgrec.api.learned import fuse_with_query
from kgrec.api.query_links import CategoryLinks
from kgrec.gnn.baselines import history_matrix
from kgrec.gnn.evaluation import interactions_of, product_text_vectors
from kgrec.gnn.protocols import build_plan
from kgrec.gnn.ranking.staged import StagedRanking
from kgrec.gnn.schema import IN_CATEGORY, NUM_PRODUCT_EXTRA, PRODUCT
from kgrec.gnn.snapshot import Snapshot
from kgrec.gnn.splits import SplitPlan, SplitView
from kgrec.settings import ServingSettings, Settings
from kgrec.text_encoders import load_encoder

from ranking_ablation import fitted_generators, newest_snapshot, trained_ranking  # isort: skip

VIEWS = ("warm", "cold_user@0", "cold_user@3")
PARAPHRASES: Final = {
    "Action": ("explosions and car chases", "action packed movies"),
    "Adventure": ("treasure hunting expeditions", "epic journeys"),
    "Animation": ("animated films", "cartoons"),
    "Children's": ("films for kids", "family movies for children"),
    "Comedy": ("funny movies", "something to make me laugh"),
    "Crime": ("gangsters and heists", "mob films"),
    "Documentary": ("real life documentaries", "true stories filmed"),
    "Drama": ("serious emotional stories", "moving dramas"),
    "Fantasy": ("magic and dragons", "fairy tale worlds"),
    "Film-Noir": ("dark 1940s detective films", "noir"),
    "Horror": ("scary movies", "monsters and ghosts"),
    "Musical": ("movies with singing and dancing", "musicals"),
    "Mystery": ("whodunit", "unsolved mysteries"),
    "Romance": ("love stories", "romantic films"),
    "Sci-Fi": ("space and science fiction", "aliens and robots"),
    "Thriller": ("suspense thrillers", "edge of your seat tension"),
    "War": ("soldiers and battles", "world war two films"),
    "Western": ("cowboys in the wild west", "westerns"),
}
"""Two wordings per MovieLens-100K genre that avoid its name (this bench's own)."""


def category_members(snapshot: Snapshot) -> tuple[list[str], np.ndarray]:
    """(category names, bool [C, P] product in category) of ``snapshot``."""
    names = [str(n) for n in snapshot.categories["name"].tolist()]
    edges = snapshot.data[IN_CATEGORY].edge_index.numpy()
    members = np.zeros((len(names), int(snapshot.data[PRODUCT].num_nodes)), dtype=bool)
    members[edges[1], edges[0]] = True
    return names, members


class Queries:
    """One query set: texts, their text similarities and links, and what each asks for.

    Args:
        texts: Q query texts.
        vectors: float32 [Q, T] their L2-normalised text vectors.
        products: float32 [P, T] the products' L2-normalised text vectors.
        asks: [Q] the category each names (a category set) or the product row it
            names (a title set).
        links: the catalogue's categories as the service links them (ids: the
            category's index).
        threshold: the link threshold.
        titles: the set names products, not categories.
    """

    def __init__(
        self,
        texts: list[str],
        vectors: torch.Tensor,
        products: torch.Tensor,
        asks: list[int],
        links: CategoryLinks,
        threshold: float,
        *,
        titles: bool = False,
    ) -> None:
        self.texts, self.asks, self.titles = texts, asks, titles
        self.sims = (vectors @ products.T).numpy()  # [Q, P]
        found = [links.link(v.numpy(), threshold) for v in vectors]
        self.linked = [int(f.category_ids[0]) if f is not None else -1 for f in found]


def score_view(
    staged: StagedRanking,
    plan: SplitPlan,
    view: SplitView,
    queries: Queries,
    members: np.ndarray,
    methods: dict[str, tuple[float, float]],
    *,
    k: int,
    serving: ServingSettings,
) -> tuple[dict[str, tuple[float, float]], int]:
    """Per method, mean recall@k and on-query@k (NaN for titles); and the queries scored.

    A title set asks, for each test shopper, for its first test product.
    """
    history = plan.history(view)
    users = view.test_users
    first: dict[int, int] = {}
    for u, p in zip(view.test[0].tolist(), view.test[1].tolist(), strict=True):
        first.setdefault(u, p)
    by_product = {p: q for q, p in enumerate(queries.asks)}
    extra = ["personal only", "text only"] + ([] if queries.titles else ["category filter"])
    sums = {m: [0.0, 0.0] for m in [*methods, *extra]}
    count = 0
    head_len = max(serving.candidates_served, k)
    for start in range(0, len(users), 256):
        batch = users[start : start + 256]
        seen = history_matrix(history, batch, plan.num_items).bool().numpy()
        target = history_matrix(view.test, batch, plan.num_items).bool().numpy()
        for i, (served, _) in enumerate(staged.ranked(batch, history)):
            personal = served.numpy().astype(np.int64)
            asked: list[tuple[int, np.ndarray, np.ndarray | None]] = []
            if queries.titles:
                row = first.get(int(batch[i]), -1)
                if row in by_product:
                    wanted = np.zeros(plan.num_items, dtype=bool)
                    wanted[row] = True
                    asked.append((by_product[row], wanted, None))
            else:
                for q, c in enumerate(queries.asks):
                    if (target[i] & members[c]).any():
                        asked.append((q, target[i] & members[c], members[c]))
            for q, wanted, on in asked:
                link = queries.linked[q]
                linked = np.flatnonzero(members[link]) if link >= 0 else None
                answers = {
                    name: fuse_with_query(
                        personal[:head_len],
                        queries.sims[q],
                        w_query,
                        serving.candidates_text,
                        linked=linked,
                        w_link=w_link,
                    )[0]
                    for name, (w_query, w_link) in methods.items()
                }
                answers["personal only"] = personal
                answers["text only"] = np.argsort(-queries.sims[q], kind="stable")
                if on is not None:
                    answers["category filter"] = personal[on[personal]]
                for name, rows in answers.items():
                    top = rows[~seen[i][rows]][:k]
                    sums[name][0] += wanted[top].sum() / wanted.sum()
                    sums[name][1] += on[top].sum() / k if on is not None else np.nan
                count += 1
    n = max(count, 1)
    return {m: (r / n, o / n) for m, (r, o) in sums.items()}, count


def main() -> None:
    """Train (or load) one seed's staged ranking, then print the tables per view and query set."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--snapshot", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/kgrec-rank-cache"))
    parser.add_argument("--weights", default="1,1.5,2,4", help="query weights, links off")
    parser.add_argument("--link-weights", default="1,2,4", help="link weights, served w_query")
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    settings = Settings()
    serving = settings.serving
    data_dir = Path(os.environ.get("KGREC_DATA_DIR", "/tmp/kgrec-eval"))
    snapshot = Snapshot.load(args.snapshot or newest_snapshot(data_dir))
    plan = build_plan(interactions_of(snapshot), "kgrec", args.seed)
    models, _ = fitted_generators(snapshot, plan, args.seed, args.cache / "kgrec")
    staged = trained_ranking(models, plan, args.seed, [])
    names, members = category_members(snapshot)
    encoder = load_encoder(settings.text, settings.paths.onnx_models)

    def unit(texts: list[str]) -> torch.Tensor:
        x = torch.as_tensor(np.asarray(encoder.encode(texts), np.float32))
        return torch.nn.functional.normalize(x, dim=1)

    text_dim = int(snapshot.data[PRODUCT].x.shape[1]) - NUM_PRODUCT_EXTRA
    products = product_text_vectors(snapshot, text_dim).float()
    products = torch.nn.functional.normalize(products, dim=1)
    links = CategoryLinks.encode({str(c): n for c, n in enumerate(names)}, encoder)
    titles = [str(t) for t in snapshot.products["title"].tolist()]
    served = (serving.w_query, serving.w_link)
    methods = {f"served: w_query {served[0]:g}, w_link {served[1]:g}": served}
    methods |= {f"w_query {w}, no link": (float(w), 0.0) for w in args.weights.split(",")}
    methods |= {
        f"w_query {served[0]:g}, w_link {w}": (served[0], float(w))
        for w in args.link_weights.split(",")
        if float(w) != served[1]  # the served row already has it
    }
    category_sets = {
        "names": [(n, c) for c, n in enumerate(names)],
        "paraphrases": [
            (p, names.index(g)) for g, ps in PARAPHRASES.items() if g in names for p in ps
        ],
    }
    sets = {
        name: Queries(
            [t for t, _ in qs],
            unit([t for t, _ in qs]),
            products,
            [c for _, c in qs],
            links,
            serving.link_threshold,
        )
        for name, qs in category_sets.items()
        if qs
    }
    print(
        f"seed {args.seed}, k={args.k}, link threshold {serving.link_threshold:g}; "
        f"recall@{args.k} / on-query@{args.k}"
    )
    for view_name in VIEWS:
        view = plan.views[view_name]
        rows = sorted(set(view.test[1].tolist()))
        named = [titles[r] for r in rows]
        per_view = sets | {
            "titles": Queries(
                named, unit(named), products, rows, links, serving.link_threshold, titles=True
            )
        }
        for set_name, queries in per_view.items():
            table, count = score_view(
                staged, plan, view, queries, members, methods, k=args.k, serving=serving
            )
            linked = sum(1 for c in queries.linked if c >= 0)
            print(
                f"\n{view_name}, {set_name}: {count} queries scored; "
                f"{linked} of {len(queries.texts)} distinct queries linked to a category"
            )
            print(f"| method | recall@{args.k} | on-query@{args.k} |")
            print("| --- | --- | --- |")
            for method, (recall, on_query) in table.items():
                print(f"| {method} | {recall:.4f} | {on_query:.3f} |")


if __name__ == "__main__":
    main()
