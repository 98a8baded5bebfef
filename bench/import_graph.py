"""Write throughput of GraphStore on the embedded server, beside a bare-driver peer.

Prints nodes/s and relationships/s for N products (with brand and category links),
users and M interactions written through ``kgrec.graph.GraphStore`` upserts, and in the
same run the rate of a bare neo4j-driver ``UNWIND $rows AS r MERGE`` of the same
product rows (the floor the adapter adds its idempotence bookkeeping to).

    .venv/bin/python bench/import_graph.py                      # 100k products, 300k events
    .venv/bin/python bench/import_graph.py --products 10000 --interactions 30000
"""

from __future__ import annotations

import resource
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from write_rates import BARE_PRODUCT_NODES, bare, size_parser, timed

from kgrec.graph import GraphStore, InteractionRow, ProductRow, UserRow, open_graph
from kgrec.settings import Settings


def synthetic(
    n_products: int, n_users: int, n_events: int, seed: int
) -> tuple[list[ProductRow], list[UserRow], list[InteractionRow]]:
    """Seeded rows: Zipf-skewed product popularity, 200 brands, 50 categories."""
    rng = np.random.default_rng(seed)
    products: list[ProductRow] = [
        {
            "id": f"p{i}",
            "title": f"product {i}",
            "price": float(rng.uniform(1, 500)),
            "brand_id": f"b{i % 200}",
            "category_ids": [f"c{i % 50}"],
        }
        for i in range(n_products)
    ]
    users: list[UserRow] = [{"id": f"u{j}"} for j in range(n_users)]
    items = (rng.zipf(1.3, n_events) - 1) % n_products
    who = rng.integers(0, n_users, n_events)
    events: list[InteractionRow] = [
        {"user_id": f"u{u}", "product_id": f"p{p}", "kind": "view", "ts": t}
        for t, (u, p) in enumerate(zip(who.tolist(), items.tolist(), strict=True))
    ]
    return products, users, events


def main() -> None:
    args = size_parser(__doc__.splitlines()[0]).parse_args()

    products, users, events = synthetic(args.products, args.users, args.interactions, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), graph={"write_batch_size": args.batch_size})
        with open_graph(settings.graph, settings.data_dir) as store:
            print(f"embedded ArcadeDB Bolt server at {store.uri}, batch size {args.batch_size}")
            bare = timed(
                "bare driver UNWIND/MERGE products (peer)",
                len(products),
                lambda: bare_merge(store, products, args.batch_size),
            )
            prod = timed(
                "GraphStore.upsert_products (+brand, category)",
                len(products),
                lambda: store.upsert_products(products),
            )
            timed("GraphStore.upsert_users", len(users), lambda: store.upsert_users(users))
            rels = timed(
                "GraphStore.upsert_interactions",
                len(events),
                lambda: store.upsert_interactions(events, race_safe=False),  # as imports
            )
            nodes, edges = store.count_nodes(), store.count_relationships()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"graph now: {sum(nodes.values()):,} nodes, {sum(edges.values()):,} relationships")
    print(
        f"products: {prod:,.0f} nodes/s ({prod / bare:.2f}x bare driver), "
        f"interactions: {rels:,.0f} relationships/s; peak RSS of this process {peak_mb:,.0f} MB"
    )


def bare_merge(store: GraphStore, products: list[ProductRow], batch: int) -> None:
    """The peer: plain UNWIND/MERGE through the driver, no hashing, counting or links."""
    for start in range(0, len(products), batch):
        rows: list[dict[str, Any]] = [
            {"id": p["id"], "props": {"title": p["title"], "price": p.get("price")}}
            for p in products[start : start + batch]
        ]
        bare(store, BARE_PRODUCT_NODES, rows, batch)


if __name__ == "__main__":
    main()
