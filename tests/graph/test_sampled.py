"""GraphStore's bounded reads for online embedding and for a restart's restore.

``sampled_neighbourhood`` (per-hop fan-out, deterministic), ``iter_ids`` and
``product_rows``.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter

import pandas as pd
import pytest

from kgrec.errors import ConfigError
from kgrec.graph import GraphStore, InteractionRow, UserRow
from kgrec.graph import _queries as q
from kgrec.typing import NODE_LABELS, REL_TYPES

pytestmark = pytest.mark.neo4j
ALL = 2**31 - 1


def _load(store: GraphStore) -> None:
    """Two categories of 6 products, one brand, a user with 12 views (ts 1..12), 5 others."""
    store.upsert_categories([{"id": "c0", "name": "Zero"}, {"id": "c1", "name": "One"}])
    store.upsert_products(
        [
            {
                "id": f"p{i:02d}",
                "title": f"Product {i}",
                "price": float(i),
                "brand_id": "b",
                "category_ids": [f"c{i % 2}"],
                "attrs": {"colour": "red"},
            }
            for i in range(12)
        ]
    )
    store.upsert_entities([{"id": "e", "kind": "director", "name": "E"}])
    store.link_entities([{"product_id": "p00", "entity_id": "e", "relation": "film.directed_by"}])
    users: list[UserRow] = [{"id": u} for u in ("big", "u0", "u1", "u2", "u3", "u4")]
    store.upsert_users(users)
    rows: list[InteractionRow] = [
        {"user_id": "big", "product_id": f"p{i:02d}", "kind": "view", "ts": i + 1}
        for i in range(12)
    ]
    rows += [
        {"user_id": f"u{k}", "product_id": "p11", "kind": "view", "ts": 100 + k} for k in range(5)
    ]
    store.upsert_interactions(rows)


def _edges(frame: pd.DataFrame) -> Counter[tuple[str, str, str, bool, str]]:
    return Counter(
        (
            str(r["src"]),
            str(r["type"]),
            str(r["dst"]),
            bool(r["outgoing"]),
            str(r["props"].get("relation")),
        )
        for r in frame.to_dict("records")
    )


def test_every_relationship_type_is_read_around_every_label() -> None:
    assert set(q.STORED_NEIGHBOURS) == set(q.RECENT_NEIGHBOURS) == set(NODE_LABELS)
    typed = {t for s in q.STORED_NEIGHBOURS.values() for t in re.findall(r"\[r:(\w+)\]", s)}
    assert typed == set(REL_TYPES)


def test_the_seed_keeps_its_most_recent_and_further_out_at_most_the_fanout(
    any_store: GraphStore,
) -> None:
    _load(any_store)
    rels = any_store.sampled_neighbourhood("User", ["big"], [3, 2])
    first = rels[rels["hop"] == 1]
    assert list(first["dst"]) == ["p11", "p10", "p09"]  # the 3 latest views, latest first
    second = rels[rels["hop"] == 2]
    assert set(second["src"]) == {"p11", "p10", "p09"}
    per_type = second.groupby(["src", "type"]).size()
    assert per_type.max() <= 2
    assert per_type[("p11", "INTERACTED")] == 2  # 6 users viewed p11
    assert per_type[("p11", "HAS_BRAND")] == 1 and per_type[("p11", "IN_CATEGORY")] == 1
    product = first.iloc[0]["dst_props"]
    assert product["title"] == "Product 11" and product["colour"] == "red"
    again = any_store.sampled_neighbourhood("User", ["big"], [3, 2])
    assert _edges(again) == _edges(rels)  # deterministic for a given graph state


def test_within_the_fanout_it_reads_the_whole_neighbourhood(any_store: GraphStore) -> None:
    _load(any_store)
    for label, seed in (("User", "big"), ("Product", "p00"), ("Category", "c0")):
        whole = any_store.neighbourhood(label, [seed], hops=2)
        sampled = any_store.sampled_neighbourhood(label, [seed], [ALL, ALL])
        assert _edges(sampled) == _edges(whole), label


def test_a_fanout_must_keep_something(any_store: GraphStore) -> None:
    with pytest.raises(ConfigError, match="at least 1"):
        any_store.sampled_neighbourhood("User", ["big"], [3, 0])
    with pytest.raises(ConfigError, match="hops"):
        any_store.sampled_neighbourhood("User", ["big"], [])


def test_ids_in_pages_and_products_as_rows(any_store: GraphStore) -> None:
    _load(any_store)
    small = GraphStore(
        any_store._driver,
        any_store.database,
        any_store.uri,
        dataclasses.replace(any_store.options, read_page_size=5),
    )
    pages = list(small.iter_ids("Product"))
    assert [len(p) for p in pages] == [5, 5, 2]
    assert [i for p in pages for i in p] == [f"p{i:02d}" for i in range(12)]
    (row,) = any_store.product_rows(["p00", "missing"])
    assert row["id"] == "p00" and row["title"] == "Product 0" and row.get("price") == 0.0
    assert row.get("brand_id") == "b" and row.get("category_ids") == ["c0"]
    assert row.get("attrs") == {"colour": "red"}
