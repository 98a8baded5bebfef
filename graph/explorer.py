"""Bounded read-only views for the web explorer: a product's links and the filter facets.

The statements are named constants with ``$parameters`` (kgrec's rule: every Cypher
statement lives in :mod:`graph`); each one ends in ``LIMIT $limit`` so an answer
stays small whatever the graph holds (a brand with 100,000 products, a film with
200 actors). The functions ask for one row more than they keep, to tell whether the
bound cut the answer. They run through :meth:`kgrec.graph.GraphStore.cypher`, the read-only path
(guarded, read transaction, the read-only account where there is one, the query
timeout), unchanged on Neo4j 5 and on the embedded ArcadeDB Bolt server.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pandas as pd

from kgrec.graph.store import GraphStore

RELATIONSHIP_LABELS: Final = {
    "HAS_BRAND": "brand",
    "IN_CATEGORY": "category",
    "SUBCATEGORY_OF": "subcategory of",
    "HAS_ENTITY": "entity",
    "SIMILAR": "similar",
}
"""Relationship types as words (a relationship with a knowledge-graph relation is
named by :func:`readable_relation` instead); ``SIMILAR`` is drawn, not stored."""


def readable_relation(relation: str) -> str:
    """A knowledge-graph relation as words: ``film.film.directed_by`` -> ``directed by``.

    The last dotted part, underscores as spaces; a name without dots is kept whole.
    """
    last = relation.rsplit(".", 1)[-1].strip()
    return (last or relation).replace("_", " ")


# The product's title and its direct links (brand, categories, knowledge-graph
# entities) in a stable order. OPTIONAL: a product without links still gives its
# title (one row, the link columns null); no row at all: no such product.
PRODUCT_LINKS: Final = """
MATCH (p:Product {id: $product_id})
OPTIONAL MATCH (p)-[r:HAS_BRAND|IN_CATEGORY|HAS_ENTITY]->(n)
RETURN coalesce(p.title, p.id) AS title, type(r) AS type, r.relation AS relation,
       labels(n)[0] AS label, n.id AS id, coalesce(n.name, n.id) AS name, n.kind AS kind
ORDER BY type, id
LIMIT $limit
"""
# The ancestors of categories: one row per path up the tree (every prefix of the
# chain to the root is a row; the caller takes the consecutive pairs).
CATEGORY_CHAINS: Final = """
UNWIND $ids AS cid
MATCH path = (c:Category {id: cid})-[:SUBCATEGORY_OF*1..6]->(top:Category)
RETURN [n IN nodes(path) | {id: n.id, name: coalesce(n.name, n.id)}] AS chain
LIMIT $limit
"""
# Which of the given nodes (``$hub_ids``: a brand, categories, entities) other
# products link to: what the centre product and its similar products share.
SHARED_LINKS: Final = """
UNWIND $ids AS oid
MATCH (o:Product {id: oid})-[r:HAS_BRAND|IN_CATEGORY|HAS_ENTITY]->(n)
WHERE n.id IN $hub_ids
RETURN o.id AS src, type(r) AS type, r.relation AS relation, labels(n)[0] AS label,
       n.id AS id
ORDER BY src, type, id
LIMIT $limit
"""
# Filter facets: categories with their parent, brands, and a few shopper ids.
FACET_CATEGORIES: Final = """
MATCH (c:Category)
OPTIONAL MATCH (c)-[:SUBCATEGORY_OF]->(parent:Category)
RETURN c.id AS id, coalesce(c.name, c.id) AS name, parent.id AS parent_id
ORDER BY id
LIMIT $limit
"""
FACET_BRANDS: Final = """
MATCH (b:Brand)
RETURN b.id AS id, coalesce(b.name, b.id) AS name
ORDER BY id
LIMIT $limit
"""
FACET_USERS: Final = """
MATCH (u:User)
RETURN u.id AS id
ORDER BY id
LIMIT $limit
"""


@dataclass(frozen=True)
class Link:
    """A relationship from a product (``src``) to a brand, category or entity node."""

    src: str
    type: str
    label: str
    dst: str
    name: str
    relation: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class ProductLinks:
    """A product's title and direct links; ``truncated`` when ``limit`` cut them."""

    product_id: str
    title: str
    links: list[Link]
    truncated: bool


@dataclass(frozen=True)
class Facets:
    """Filter choices: categories (``id``, ``name``, ``parent_id``), brands, shopper ids."""

    categories: list[dict[str, str | None]] = field(default_factory=list)
    brands: list[dict[str, str]] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    truncated: bool = False


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as dicts, with pandas' NaN for a missing value turned back into None."""
    return [
        {str(k): None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _link(row: dict[str, Any], src: str, *, name: str, kind: str | None = None) -> Link:
    """The link from ``src`` to the node a read row names (its type, label, id, relation)."""
    return Link(
        src=src,
        type=str(row["type"]),
        label=str(row["label"]),
        dst=str(row["id"]),
        name=name,
        relation=_text(row["relation"]),
        kind=kind,
    )


def product_links(store: GraphStore, product_id: str, limit: int) -> ProductLinks | None:
    """The product's title and at most ``limit`` links (brand, categories, entities).

    Returns:
        None when the graph holds no such product.

    Raises:
        GraphConnectionError: the server does not answer.
    """
    rows = _records(store.cypher(PRODUCT_LINKS, {"product_id": product_id, "limit": limit + 1}))
    if not rows:
        return None
    truncated = len(rows) > limit
    links = [
        _link(r, product_id, name=str(r["name"]), kind=_text(r["kind"]))
        for r in rows[:limit]
        if r["type"] is not None and r["id"] is not None
    ]
    return ProductLinks(product_id, str(rows[0]["title"]), links, truncated)


def category_ancestors(
    store: GraphStore, category_ids: Sequence[str], limit: int
) -> tuple[list[tuple[str, str, str]], bool]:
    """``(child, parent, parent name)`` for each link up the tree from the categories.

    Returns:
        The links (each once, at most ``limit`` paths read) and whether ``limit`` cut them.
    """
    if not category_ids:
        return [], False
    frame = store.cypher(CATEGORY_CHAINS, {"ids": list(category_ids), "limit": limit + 1})
    seen: dict[tuple[str, str], str] = {}
    rows = _records(frame)
    for row in rows[:limit]:
        chain = row["chain"] or []
        for child, parent in itertools.pairwise(chain):
            seen.setdefault((str(child["id"]), str(parent["id"])), str(parent["name"]))
    return [(c, p, name) for (c, p), name in seen.items()], len(rows) > limit


def shared_links(
    store: GraphStore, product_ids: Sequence[str], hub_ids: Sequence[str], limit: int
) -> tuple[list[Link], bool]:
    """The links of ``product_ids`` to any of the nodes ``hub_ids`` (at most ``limit``).

    Returns:
        The links (``name`` is the node id: the caller has the names) and whether
        ``limit`` cut them.
    """
    if not product_ids or not hub_ids:
        return [], False
    frame = store.cypher(
        SHARED_LINKS, {"ids": list(product_ids), "hub_ids": list(hub_ids), "limit": limit + 1}
    )
    rows = _records(frame)
    links = [_link(r, str(r["src"]), name=str(r["id"])) for r in rows[:limit]]
    return links, len(rows) > limit


def facets(store: GraphStore, limit: int, users: int) -> Facets:
    """At most ``limit`` categories and brands and ``users`` shopper ids, ordered by id."""
    categories = _records(store.cypher(FACET_CATEGORIES, {"limit": limit + 1}))
    brands = _records(store.cypher(FACET_BRANDS, {"limit": limit + 1}))
    user_rows = _records(store.cypher(FACET_USERS, {"limit": users})) if users > 0 else []
    return Facets(
        categories=[
            {"id": str(r["id"]), "name": str(r["name"]), "parent_id": _text(r["parent_id"])}
            for r in categories[:limit]
        ],
        brands=[{"id": str(r["id"]), "name": str(r["name"])} for r in brands[:limit]],
        users=[str(r["id"]) for r in user_rows],
        truncated=len(categories) > limit or len(brands) > limit,
    )
