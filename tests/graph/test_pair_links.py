"""GraphStore.pair_links: what (history product, product) pairs share, in one read."""

from __future__ import annotations

from kgrec.graph import GraphStore


def _films(store: GraphStore) -> None:
    store.upsert_brands([{"id": "acme", "name": "Acme"}])
    store.upsert_categories([{"id": "c1", "name": "Space"}, {"id": "c2", "name": "Drama"}])
    store.upsert_products(
        [
            {"id": "p1", "title": "Star Wars", "brand_id": "acme", "category_ids": ["c1"]},
            {"id": "p2", "title": "Empire", "brand_id": "acme", "category_ids": ["c1", "c2"]},
            {"id": "p3", "title": "Other", "category_ids": ["c2"]},
        ]
    )
    store.upsert_entities(
        [
            {"id": "lucas", "kind": "person", "name": "George Lucas"},
            {"id": "m.0x", "kind": "person"},
        ]
    )
    store.link_entities(
        [
            {"product_id": "p1", "entity_id": "lucas", "relation": "film.film.directed_by"},
            {"product_id": "p2", "entity_id": "lucas", "relation": "film.film.directed_by"},
            # the same person, by another relation on each side: not shared
            {"product_id": "p1", "entity_id": "m.0x", "relation": "film.film.actor"},
            {"product_id": "p2", "entity_id": "m.0x", "relation": "film.film.written_by"},
        ]
    )
    store.upsert_users([{"id": "u1"}])
    store.upsert_interactions(
        [
            {"user_id": "u1", "product_id": "p1", "kind": "rate", "ts": 1},
            {"user_id": "u1", "product_id": "p1", "kind": "view", "ts": 2},
        ]
    )


def test_a_pair_shares_what_both_link_to_by_the_same_relation(any_store: GraphStore) -> None:
    _films(any_store)
    rows = any_store.pair_links("u1", [("p1", "p2"), ("p1", "p3"), ("p1", "nope")])
    by_pair = {(r["via"], r["item"]): r for r in rows}
    assert set(by_pair) == {("p1", "p2"), ("p1", "p3")}  # a product the graph lacks: no row
    shared = sorted(
        (s["type"], s["relation"], s["id"], s["name"]) for s in by_pair["p1", "p2"]["shared"]
    )
    assert shared == [
        ("HAS_BRAND", None, "acme", "Acme"),
        ("HAS_ENTITY", "film.film.directed_by", "lucas", "George Lucas"),
        ("IN_CATEGORY", None, "c1", "Space"),
    ]
    lucas = next(s for s in by_pair["p1", "p2"]["shared"] if s["id"] == "lucas")
    assert lucas["label"] == "Entity" and lucas["kind"] == "person"
    assert by_pair["p1", "p3"]["shared"] == []
    assert sorted(by_pair["p1", "p2"]["kinds"]) == ["rate", "view"]


def test_without_a_shopper_no_kinds_are_read(any_store: GraphStore) -> None:
    _films(any_store)
    for user in (None, "nobody"):
        [row] = any_store.pair_links(user, [("p1", "p2")])
        assert row["kinds"] == [] and len(row["shared"]) == 3
    assert any_store.pair_links("u1", []) == []
    [row] = any_store.pair_links("u1", [("p1", "p2")], limit=1)
    assert len(row["shared"]) == 1
