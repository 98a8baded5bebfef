"""Removing products by id: how ``kgrec demo`` takes back the product it added online.

The HTTP API has no delete; the demo adds a product through ``POST /items`` and
removes it afterwards so that the graph holds the imported dataset unchanged and
a second run reuses the graph and the trained model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from neo4j import ManagedTransaction

from kgrec.graph.store import GraphStore
from kgrec.typing import PRODUCT

DELETE_PRODUCTS: Final = (
    "UNWIND $ids AS id MATCH (p:Product {id: id}) DETACH DELETE p RETURN count(*) AS n"
)


def delete_products(store: GraphStore, ids: Sequence[str]) -> int:
    """Delete the products with these ids and their relationships; how many there were.

    Brands and categories they linked to stay.
    """
    wanted = list(dict.fromkeys(ids))
    if not wanted or not store.existing_ids(PRODUCT, wanted):
        return 0

    def work(tx: ManagedTransaction) -> int:
        rows = [r.data() for r in tx.run(DELETE_PRODUCTS, ids=wanted)]
        return int(rows[0]["n"]) if rows else 0

    return store._write(work)
