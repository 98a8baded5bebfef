"""Loader throughput from files, beside a bare neo4j-driver UNWIND/MERGE of the same rows.

Generates a seeded catalogue with ``kgrec.loaders.CatalogueGenerator`` (default 100k
products, 50k users, 300k interactions, CSV), then on two fresh embedded servers:

1. the peer: the same rows (parsed beforehand, parse time not counted) written
   with plain ``UNWIND $rows AS r MERGE ...`` statements through the driver, making
   the same graph (product + brand + category links; interactions between users
   and products);
2. the loader: ``kgrec.loaders.Importer`` reading, validating and writing the files.

Prints rows/s of each, the ratio loader / bare, and peak RSS of this process.

    .venv/bin/python bench/import_files.py
    .venv/bin/python bench/import_files.py --products 10000 --interactions 30000
"""

from __future__ import annotations

import resource
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from write_rates import BARE_PRODUCT_NODES, bare, size_parser, timed

from kgrec.graph import open_graph
from kgrec.loaders import CatalogueGenerator, Importer, Source, validation_options
from kgrec.loaders.constants import EntityKind
from kgrec.settings import Settings
from kgrec.typing import DEFAULT_KIND_WEIGHTS

# The peer statements: plain idioms writing the same nodes and relationships.
BARE_PRODUCTS = """
UNWIND $rows AS r
MERGE (p:Product {id: r.id}) SET p += r.props
WITH p, r
MERGE (b:Brand {id: r.brand_id})
MERGE (p)-[:HAS_BRAND]->(b)
WITH p, r
UNWIND r.category_ids AS cid
MERGE (c:Category {id: cid})
MERGE (p)-[:IN_CATEGORY]->(c)
"""
BARE_USERS = "UNWIND $rows AS r MERGE (u:User {id: r.id}) SET u += r.props"
BARE_INTERACTIONS = """
UNWIND $rows AS r
MATCH (u:User {id: r.user_id})
MATCH (p:Product {id: r.product_id})
MERGE (u)-[i:INTERACTED {kind: r.kind, ts: r.ts}]->(p)
SET i.weight = r.weight, i.value = r.value
"""


def bare_rows(files: dict[str, Path]) -> tuple[list[dict[str, Any]], ...]:
    """The files' rows as the peer writes them (parsed before timing)."""
    products = pd.read_csv(files["products"], dtype=str, keep_default_na=False)
    prows = [
        {
            "id": r["id"],
            "props": {
                "title": r["title"],
                "description": r["description"],
                "price": float(r["price"]),
                "currency": r["currency"],
                "in_stock": r["in_stock"] == "True",
                "material": r["material"],
            },
            "brand_id": r["brand_id"],
            "category_ids": r["category_ids"].split("|"),
        }
        for r in products.to_dict("records")
    ]
    users = pd.read_csv(files["users"], dtype=str, keep_default_na=False)
    urows = [
        {"id": r["id"], "props": {"country": r["country"], "age": int(r["age"])}}
        for r in users.to_dict("records")
    ]
    events = pd.read_csv(files["interactions"], dtype=str, keep_default_na=False)
    erows = [
        {
            "user_id": r["user_id"],
            "product_id": r["product_id"],
            "kind": r["kind"],
            "ts": int(r["ts"]),
            "value": float(r["value"]) if r["value"] else None,
            "weight": DEFAULT_KIND_WEIGHTS[r["kind"]],
        }
        for r in events.to_dict("records")
    ]
    return prows, urows, erows


def main() -> None:
    args = size_parser((__doc__ or "").splitlines()[0]).parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generator = CatalogueGenerator(
            products=args.products,
            users=args.users,
            interactions=args.interactions,
            seed=args.seed,
        )
        files = generator.write(root / "files")
        print(
            f"generated {args.products:,} products, {args.users:,} users, "
            f"{args.interactions:,} interactions in {root / 'files'}"
        )
        prows, urows, erows = bare_rows(files)

        nodes_only = Settings(data_dir=root / "nodes", graph={"write_batch_size": args.batch_size})
        with open_graph(nodes_only.graph, nodes_only.data_dir) as store:
            bare_n = timed(
                "bare driver UNWIND/MERGE product nodes only",
                len(prows),
                lambda: bare(store, BARE_PRODUCT_NODES, prows, args.batch_size),
            )

        peer = Settings(data_dir=root / "bare", graph={"write_batch_size": args.batch_size})
        with open_graph(peer.graph, peer.data_dir) as store:
            print(f"peer on {store.uri}, batch size {args.batch_size}")
            bare_p = timed(
                "bare driver UNWIND/MERGE products (+links)",
                len(prows),
                lambda: bare(store, BARE_PRODUCTS, prows, args.batch_size),
            )
            timed(
                "bare driver UNWIND/MERGE users",
                len(urows),
                lambda: bare(store, BARE_USERS, urows, args.batch_size),
            )
            bare_i = timed(
                "bare driver UNWIND/MERGE interactions",
                len(erows),
                lambda: bare(store, BARE_INTERACTIONS, erows, args.batch_size),
            )
            bare_counts = (store.count_nodes(), store.count_relationships())

        settings = Settings(data_dir=root / "loader", graph={"write_batch_size": args.batch_size})
        with open_graph(settings.graph, settings.data_dir) as store:
            print(f"loader on {store.uri}, batch size {args.batch_size}")

            def load(*entities: EntityKind) -> None:
                chunk_rows = settings.loaders.import_chunk_rows
                sources = [Source.from_file(e, files[e], chunk_rows) for e in entities]
                options = validation_options(settings.loaders)
                importer = Importer(store, options, data_dir=settings.data_dir, progress=False)
                report = importer.run(sources)
                assert report.exit_code == 0, report.summary_lines()

            load("categories", "brands")
            loader_p = timed(
                "loaders.Importer products.csv", args.products, lambda: load("products")
            )
            timed("loaders.Importer users.csv", args.users, lambda: load("users"))
            loader_i = timed(
                "loaders.Importer interactions.csv", args.interactions, lambda: load("interactions")
            )
            loader_counts = (store.count_nodes(), store.count_relationships())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    keys = ("Product", "User", "HAS_BRAND", "IN_CATEGORY", "INTERACTED")
    loader_kept = {k: {**loader_counts[0], **loader_counts[1]}[k] for k in keys}
    bare_kept = {k: {**bare_counts[0], **bare_counts[1]}[k] for k in keys}
    same = "same as the peer" if loader_kept == bare_kept else f"peer: {bare_kept}"
    print(f"graph after the loader: {loader_kept} ({same}; the loader adds the category tree)")
    print(
        f"products: loader {loader_p:,.0f} rows/s = {loader_p / bare_p:.2f}x bare "
        f"(same writes), {loader_p / bare_n:.2f}x bare node-only MERGE; "
        f"interactions: loader {loader_i:,.0f} rows/s = {loader_i / bare_i:.2f}x bare; "
        f"peak RSS of this process {peak_mb:,.0f} MB"
    )


if __name__ == "__main__":
    main()
