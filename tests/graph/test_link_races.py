"""Writers relinking one product at once leave it one brand and the last category set.

A product has one brand (``HAS_BRAND``) and the category set the latest write
gave it (``IN_CATEGORY``). Each upsert removes the links its row does not name
and merges the ones it does, in its transaction; two such writers racing on one
product (two ``PUT /items/{id}`` with different brands, an update racing an
import) must not leave the union of their links.
"""

from __future__ import annotations

import threading

import pytest

from kgrec.graph import GraphStore, ProductRow
from tests.utils.threads import errors_in_threads

WRITERS = 8
ROUNDS = 4
WAIT_S = 120.0


def _links(store: GraphStore, product_id: str) -> tuple[list[str], list[str]]:
    """The ids of the product's brands and categories, each edge once, sorted."""
    brands = store.cypher(
        "MATCH (:Product {id: $p})-[:HAS_BRAND]->(b:Brand) RETURN b.id AS id", {"p": product_id}
    )
    categories = store.cypher(
        "MATCH (:Product {id: $p})-[:IN_CATEGORY]->(c:Category) RETURN c.id AS id",
        {"p": product_id},
    )
    return (
        sorted(str(b) for b in brands["id"]) if len(brands) else [],
        sorted(str(c) for c in categories["id"]) if len(categories) else [],
    )


CASES: dict[str, tuple[dict[str, object], str, list[str]]] = {
    # the product's links before the race, and writer k's brand and categories
    "brand-beside-a-category": ({"category_ids": ["c-old"]}, "b-{k}", ["c-old"]),
    "categories-beside-a-brand": ({"brand_id": "b-old"}, "b-old", ["c-{k}"]),
    "both-relinked": ({"brand_id": "b-old", "category_ids": ["c-old"]}, "b-{k}", ["c-{k}"]),
    "first-links": ({}, "b-{k}", ["c-{k}"]),
}


def _row_links(case: str, k: int) -> tuple[str, list[str]]:
    """Writer k's brand and sorted categories in ``case``."""
    _, brand, categories = CASES[case]
    return brand.format(k=k), sorted(c.format(k=k) for c in categories)


@pytest.mark.parametrize("case", list(CASES))
def test_writers_relinking_one_product_at_once_leave_one_writers_links(
    store: GraphStore, case: str
) -> None:
    """Every round, WRITERS rows for one product race; one row's links must remain.

    Failed before where the product held a link: ArcadeDB merges concurrent
    appends to one vertex's edge list, so each writer, having read no link to
    remove, added its own (8 HAS_BRAND edges), or a writer was refused for a link
    another deleted meanwhile (EntityNotFound).
    """
    before = CASES[case][0]
    for n in range(ROUNDS):
        product = f"p-race-{n}"
        store.upsert_products([{"id": product, "title": "Race shoe", **before}])  # type: ignore[typeddict-item]
        barrier = threading.Barrier(WRITERS)

        def write(k: int, product: str = product, barrier: threading.Barrier = barrier) -> None:
            brand, categories = _row_links(case, k)
            row: ProductRow = {"id": product, "title": "Race shoe", "brand_id": brand}
            row["category_ids"] = categories
            barrier.wait()
            store.upsert_products([row])

        errors = errors_in_threads(write, WRITERS, WAIT_S)
        assert errors == [], [
            (getattr(e.__cause__, "code", None), str(getattr(e.__cause__, "message", e))[-200:])
            for e in errors
        ]
        brands, categories = _links(store, product)
        written = [_row_links(case, k) for k in range(WRITERS)]
        assert len(brands) == 1, f"round {n}: brands {brands}"
        assert (brands[0], categories) in written, f"round {n}: {brands}, {categories}"
