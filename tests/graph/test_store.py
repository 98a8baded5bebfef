"""GraphStore against a real Bolt server.

Schema, idempotent upserts (merge and replace, counts read from the graph), links,
reads.
"""

from __future__ import annotations

import dataclasses
from typing import Any, LiteralString

import pytest

from kgrec.errors import ConfigError, NotFoundError
from kgrec.graph import (
    EntityLinkRow,
    GraphStore,
    InteractionRow,
    ProductRow,
    TripleRow,
    UpsertCounts,
)
from kgrec.typing import DEFAULT_KIND_WEIGHTS

pytestmark = pytest.mark.neo4j

CATEGORIES = [
    {"id": "apparel", "name": "Apparel"},
    {"id": "shoes", "name": "Shoes", "parent_id": "apparel"},
    {"id": "trail", "name": "Trail", "parent_id": "shoes"},
]
PRODUCTS: list[ProductRow] = [
    {
        "id": "p1",
        "title": "Trail shoe",
        "price": 99.5,
        "brand_id": "acme",
        "brand_name": "Acme",
        "category_ids": ["trail"],
        "attrs": {"color": "red"},
    },
    {"id": "p2", "title": "Road shoe", "brand_id": "zoom", "category_ids": ["shoes"]},
]


def _load(store: GraphStore) -> None:
    store.upsert_categories(CATEGORIES)  # type: ignore[arg-type]
    store.upsert_products(PRODUCTS)
    store.upsert_users([{"id": "u1", "attrs": {"country": "DE"}}, {"id": "u2"}])
    store.upsert_interactions(
        [
            {"user_id": "u1", "product_id": "p1", "kind": "view", "ts": 10},
            {"user_id": "u1", "product_id": "p1", "kind": "purchase", "ts": 20, "value": 1.0},
            {"user_id": "u2", "product_id": "p2", "kind": "click", "ts": 30},
        ]
    )


def test_schema_is_idempotent(any_store: GraphStore) -> None:
    any_store.create_schema()
    first = set(any_store.constraints()["name"])
    any_store.create_schema()
    assert set(any_store.constraints()["name"]) == first
    assert {"product_id", "brand_id", "category_id", "user_id", "entity_id"} <= first


def test_upserts_are_idempotent(any_store: GraphStore) -> None:
    _load(any_store)
    nodes, rels = any_store.count_nodes(), any_store.count_relationships()
    assert nodes == {"Product": 2, "Brand": 2, "Category": 3, "User": 2, "Entity": 0}
    assert rels["INTERACTED"] == 3 and rels["SUBCATEGORY_OF"] == 2
    _load(any_store)
    assert any_store.count_nodes() == nodes
    assert any_store.count_relationships() == rels


def test_upsert_counts_created_updated_unchanged(any_store: GraphStore) -> None:
    first = any_store.upsert_products(PRODUCTS)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    changed: list[ProductRow] = [PRODUCTS[0], {**PRODUCTS[1], "title": "Road shoe v2"}]
    second = any_store.upsert_products(changed)
    assert (second.created, second.updated, second.unchanged) == (0, 1, 1)
    assert any_store.nodes_by_id("Product", ["p2"])["p2"]["title"] == "Road shoe v2"


def test_relationships_attach_to_the_right_nodes(any_store: GraphStore) -> None:
    _load(any_store)
    brands = any_store.cypher(
        "MATCH (p:Product)-[:HAS_BRAND]->(b:Brand) RETURN p.id AS p, b.id AS b, b.name AS n "
        "ORDER BY p"
    )
    assert brands.to_dict("records") == [
        {"p": "p1", "b": "acme", "n": "Acme"},
        {"p": "p2", "b": "zoom", "n": "zoom"},
    ]
    tree = any_store.cypher(
        "MATCH (c:Category)-[:SUBCATEGORY_OF]->(p:Category) RETURN c.id AS c, p.id AS p ORDER BY c"
    )
    assert tree.to_dict("records") == [{"c": "shoes", "p": "apparel"}, {"c": "trail", "p": "shoes"}]
    events = any_store.cypher(
        "MATCH (u:User)-[i:INTERACTED]->(p:Product) "
        "RETURN u.id AS u, p.id AS p, i.kind AS kind, i.weight AS w ORDER BY i.ts"
    )
    assert events.to_dict("records") == [
        {"u": "u1", "p": "p1", "kind": "view", "w": 1.0},
        {"u": "u1", "p": "p1", "kind": "purchase", "w": 5.0},
        {"u": "u2", "p": "p2", "kind": "click", "w": 2.0},
    ]


def test_changed_brand_and_categories_replace_old_links(any_store: GraphStore) -> None:
    _load(any_store)
    moved: ProductRow = {**PRODUCTS[0], "brand_id": "zoom", "category_ids": ["apparel", "shoes"]}
    any_store.upsert_products([moved])
    assert _links_of_p1(any_store) == [
        ("HAS_BRAND", "zoom"),
        ("IN_CATEGORY", "apparel"),
        ("IN_CATEGORY", "shoes"),
    ]


def test_knowledge_graph_relations_are_kept(any_store: GraphStore) -> None:
    _load(any_store)
    any_store.upsert_entities(
        [{"id": "e:leather", "kind": "material", "name": "Leather"}, {"id": "e:cow", "kind": "x"}]
    )
    link: EntityLinkRow = {"product_id": "p1", "entity_id": "e:leather", "relation": "made_of"}
    triple: TripleRow = {"head": "e:leather", "relation": "from", "tail": "e:cow"}
    assert any_store.link_entities([link, link]) == UpsertCounts(created=1, unchanged=1)
    assert any_store.relate_entities([triple]) == UpsertCounts(created=1)
    # again: the relationships are there, nothing is created (a re-import says so)
    assert any_store.link_entities([link]) == UpsertCounts(unchanged=1)
    assert any_store.relate_entities([triple]) == UpsertCounts(unchanged=1)
    assert any_store.count_relationships()["HAS_ENTITY"] == 1
    pages = list(any_store.iter_edges("HAS_ENTITY"))
    assert pages[0].to_dict("records") == [{"src": "p1", "dst": "e:leather", "relation": "made_of"}]


def test_paged_reads_cover_every_edge(any_store: GraphStore) -> None:
    rows: list[ProductRow] = [{"id": f"p{i:03d}", "title": f"item {i}"} for i in range(25)]
    any_store.upsert_products(rows)
    any_store.upsert_users([{"id": f"u{i:02d}"} for i in range(12)])
    events = [
        {"user_id": f"u{i % 12:02d}", "product_id": f"p{i:03d}", "kind": "view", "ts": i}
        for i in range(25)
    ]
    any_store.upsert_interactions(events)  # type: ignore[arg-type]
    small = dataclasses.replace(any_store.options, read_page_size=5)
    paged = GraphStore(any_store._driver, any_store.database, any_store.uri, small)
    edges = [e for page in paged.iter_edges("INTERACTED") for e in page.to_dict("records")]
    assert sorted((e["src"], e["dst"], e["ts"]) for e in edges) == sorted(
        (e["user_id"], e["product_id"], e["ts"]) for e in events
    )
    ids = [i for page in paged.iter_nodes("Product") for i in page["id"]]
    assert ids == [r["id"] for r in rows]


def test_neighbourhood_and_explain_path(any_store: GraphStore) -> None:
    _load(any_store)
    hood = any_store.neighbourhood("User", ["u1"], hops=2)
    one_hop = hood[hood["hop"] == 1]
    assert set(one_hop["dst"]) == {"p1"} and set(one_hop["type"]) == {"INTERACTED"}
    assert {"acme", "trail"} <= set(hood[hood["hop"] == 2]["dst"])
    path = any_store.explain_path("u1", "p1")
    assert path is not None
    assert [path[0]["id"], path[1]["type"], path[2]["id"]] == ["u1", "INTERACTED", "p1"]
    assert any_store.explain_path("u2", "p1") is not None  # via brand/category or not at all
    with pytest.raises(ConfigError, match="valid"):
        any_store.neighbourhood("Nope", ["x"])


def test_to_networkx(any_store: GraphStore) -> None:
    _load(any_store)
    g = any_store.to_networkx("Product", ["p1"], hops=1)
    assert g.nodes["Product:p1"]["title"] == "Trail shoe"
    assert g.nodes["Brand:acme"]["label"] == "Brand"
    types = {d["type"] for _, _, d in g.edges(data=True)}
    assert types == {"HAS_BRAND", "IN_CATEGORY", "INTERACTED"}
    assert g.has_edge("User:u1", "Product:p1")  # direction kept
    assert not g.has_edge("Product:p1", "User:u1")


def test_delete_all_takes_batches_until_the_graph_is_empty(any_store: GraphStore) -> None:
    _load(any_store)
    nodes = sum(any_store.count_nodes().values())
    assert nodes > 6 and sum(any_store.count_relationships().values()) > 0
    assert any_store.delete_all(batch=3) == nodes  # several batches, the last one short
    assert sum(any_store.count_nodes().values()) == 0
    assert sum(any_store.count_relationships().values()) == 0
    assert any_store.delete_all(batch=3) == 0
    with pytest.raises(ValueError, match="at least 1"):
        any_store.delete_all(batch=0)


def test_existing_ids(any_store: GraphStore) -> None:
    _load(any_store)
    assert any_store.existing_ids("Product", ["p1", "p9", "p2"]) == {"p1", "p2"}


def test_a_repeated_id_in_one_call_is_written_and_counted_once(any_store: GraphStore) -> None:
    counts = any_store.upsert_products(
        [{"id": "p1", "title": "first"}, {"id": "p1", "title": "second"}]
    )
    assert (counts.created, counts.updated, counts.unchanged) == (1, 0, 0)
    assert any_store.nodes_by_id("Product", ["p1"])["p1"]["title"] == "second"


def _links_of_p1(store: GraphStore) -> list[tuple[str, str]]:
    """(relationship type, target id) of product p1's outgoing links, sorted."""
    rows = store.cypher(
        "MATCH (p:Product {id: 'p1'})-[r]->(x) RETURN type(r) AS t, x.id AS x ORDER BY t, x"
    )
    return [(str(r["t"]), str(r["x"])) for r in rows.to_dict("records")]


def _outside_write(store: GraphStore, query: LiteralString, **params: Any) -> None:
    """A write that does not go through kgrec's upserts (another tool, a person)."""
    with store._driver.session(database=store.database) as session:
        session.run(query, params).consume()


def _props(store: GraphStore, label: str, node_id: str) -> dict[str, Any]:
    return store.nodes_by_id(label, [node_id])[node_id]


def test_merge_keeps_absent_properties_and_none_removes(any_store: GraphStore) -> None:
    full: ProductRow = {
        "id": "p1",
        "title": "Trail shoe",
        "description": "Grippy",
        "price": 99.5,
        "attrs": {"color": "red", "size": "42"},
    }
    assert any_store.upsert_products([full]) == UpsertCounts(created=1)
    partial: ProductRow = {
        "id": "p1",
        "title": "Trail shoe",
        "price": None,
        "attrs": {"color": "blue"},
    }
    counts = any_store.upsert_products([partial])
    assert _props(any_store, "Product", "p1") == {
        "id": "p1",
        "title": "Trail shoe",
        "description": "Grippy",
        "color": "blue",
        "size": "42",
    }
    assert counts == UpsertCounts(updated=1, removed=1)
    # removing what is already gone changes nothing
    assert any_store.upsert_products([partial]) == UpsertCounts(unchanged=1)


def test_replace_removes_absent_properties_and_counts_them(any_store: GraphStore) -> None:
    any_store.upsert_products(
        [
            {
                "id": "p1",
                "title": "Trail shoe",
                "price": 99.5,
                "attrs": {"color": "red", "size": "42"},
            }
        ]
    )
    row: ProductRow = {"id": "p1", "title": "Trail shoe", "attrs": {"color": "red", "fit": None}}
    assert any_store.upsert_products([row], replace=True) == UpsertCounts(updated=1, removed=2)
    assert _props(any_store, "Product", "p1") == {"id": "p1", "title": "Trail shoe", "color": "red"}
    assert any_store.upsert_products([row], replace=True) == UpsertCounts(unchanged=1)
    any_store.upsert_users([{"id": "u1", "attrs": {"country": "DE", "age": 30}}])
    assert any_store.upsert_users([{"id": "u1"}], replace=True) == UpsertCounts(
        updated=1, removed=2
    )
    assert _props(any_store, "User", "u1") == {"id": "u1"}


def test_a_node_changed_outside_kgrec_and_restored_counts_as_updated(
    any_store: GraphStore,
) -> None:
    any_store.upsert_products(PRODUCTS)
    _outside_write(
        any_store, "MATCH (n:Product {id: $id}) SET n.title = 'edited', n.note = 'x'", id="p1"
    )
    assert any_store.upsert_products(PRODUCTS) == UpsertCounts(updated=1, unchanged=1)
    props = _props(any_store, "Product", "p1")
    assert props["title"] == "Trail shoe" and props["note"] == "x"  # merge keeps the rest
    assert any_store.upsert_products(PRODUCTS) == UpsertCounts(unchanged=2)


def test_a_link_change_alone_counts_as_updated(any_store: GraphStore) -> None:
    _load(any_store)
    rebranded: ProductRow = {**PRODUCTS[0], "brand_id": "zoom"}
    assert any_store.upsert_products([rebranded]) == UpsertCounts(updated=1)
    recategorised: ProductRow = {**rebranded, "category_ids": ["trail", "shoes"]}
    assert any_store.upsert_products([recategorised]) == UpsertCounts(updated=1)
    assert any_store.upsert_products([recategorised]) == UpsertCounts(unchanged=1)
    assert _links_of_p1(any_store) == [
        ("HAS_BRAND", "zoom"),
        ("IN_CATEGORY", "shoes"),
        ("IN_CATEGORY", "trail"),
    ]
    _outside_write(any_store, "MATCH (:Product {id: 'p1'})-[r:HAS_BRAND]->() DELETE r")
    assert any_store.upsert_products([recategorised]) == UpsertCounts(updated=1)
    assert any_store.count_relationships()["HAS_BRAND"] == 2
    # a row without brand_id / category_ids leaves the links alone
    bare: ProductRow = {"id": "p1", "title": "Trail shoe"}
    assert any_store.upsert_products([bare]) == UpsertCounts(unchanged=1)
    assert any_store.count_relationships()["IN_CATEGORY"] == 3


def test_a_changed_category_parent_counts_as_updated(any_store: GraphStore) -> None:
    any_store.upsert_categories(CATEGORIES)  # type: ignore[arg-type]
    moved = [{"id": "trail", "name": "Trail", "parent_id": "apparel"}]
    assert any_store.upsert_categories(moved) == UpsertCounts(updated=1)  # type: ignore[arg-type]
    assert any_store.upsert_categories(moved) == UpsertCounts(unchanged=1)  # type: ignore[arg-type]


def test_upsert_users_with_only_an_id_keeps_their_attrs(any_store: GraphStore) -> None:
    any_store.upsert_users([{"id": "u1", "attrs": {"country": "DE"}}])
    assert any_store.upsert_users([{"id": "u1"}, {"id": "u2"}]) == UpsertCounts(
        created=1, unchanged=1
    )
    assert _props(any_store, "User", "u1") == {"id": "u1", "country": "DE"}


def test_a_legacy_content_hash_is_dropped_when_written_and_never_counted(
    any_store: GraphStore,
) -> None:
    any_store.upsert_products(PRODUCTS)
    _outside_write(any_store, "MATCH (n:Product) SET n.content_hash = 'legacy'")
    assert any_store.upsert_products(PRODUCTS) == UpsertCounts(unchanged=2)
    retitled: ProductRow = {"id": "p2", "title": "Road shoe v2"}
    assert any_store.upsert_products([retitled]) == UpsertCounts(updated=1)
    assert "content_hash" not in _props(any_store, "Product", "p2")
    assert _props(any_store, "Product", "p1")["content_hash"] == "legacy"  # not written


def test_repeated_ids_merge_in_order(any_store: GraphStore) -> None:
    rows: list[ProductRow] = [
        {"id": "p1", "title": "first", "price": 1.0, "attrs": {"color": "red"}},
        {"id": "p1", "title": "second", "attrs": {"color": None}},
    ]
    assert any_store.upsert_products(rows) == UpsertCounts(created=1)
    assert _props(any_store, "Product", "p1") == {"id": "p1", "title": "second", "price": 1.0}
    assert any_store.upsert_products(rows, replace=True) == UpsertCounts(updated=1, removed=1)
    assert _props(any_store, "Product", "p1") == {"id": "p1", "title": "second"}


def test_a_resent_interaction_keeps_what_it_does_not_carry(any_store: GraphStore) -> None:
    any_store.upsert_products([{"id": "p1", "title": "A"}])
    any_store.upsert_users([{"id": "u1"}])
    first = any_store.upsert_interactions(
        [{"user_id": "u1", "product_id": "p1", "kind": "rate", "ts": 5, "value": 4.0}]
    )
    assert (first.created, first.updated) == (1, 0)
    again = any_store.upsert_interactions(
        [{"user_id": "u1", "product_id": "p1", "kind": "rate", "ts": 5}]
    )
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    changed = any_store.upsert_interactions(
        [{"user_id": "u1", "product_id": "p1", "kind": "rate", "ts": 5, "value": 2.0}]
    )
    assert (changed.created, changed.updated) == (0, 1)
    edges = next(any_store.iter_edges("INTERACTED"))
    assert edges.loc[0, "value"] == 2.0
    assert edges.loc[0, "weight"] == DEFAULT_KIND_WEIGHTS["rate"]


def test_one_interaction_sent_twice_in_a_batch_is_stored_and_counted_once(
    any_store: GraphStore,
) -> None:
    """(user, product, kind, ts) is one interaction: its second row in a batch changes nothing."""
    any_store.upsert_products([{"id": "p1", "title": "A"}])
    any_store.upsert_users([{"id": "u1"}])
    row: InteractionRow = {"user_id": "u1", "product_id": "p1", "kind": "view", "ts": 7}
    counts = any_store.upsert_interactions([row, row])
    assert (counts.created, counts.updated, counts.unchanged) == (1, 0, 1)
    assert len(next(any_store.iter_edges("INTERACTED"))) == 1
    # repeats that change the value: one interaction, the last value given wins
    rated: list[InteractionRow] = [
        {**row, "ts": 8, "kind": "rate", "value": 2.0},
        {**row, "ts": 8, "kind": "rate", "value": 5.0},
        {**row, "ts": 8, "kind": "rate"},
    ]
    counts = any_store.upsert_interactions(rated)
    assert (counts.created, counts.updated, counts.unchanged) == (1, 0, 2)
    edges = next(any_store.iter_edges("INTERACTED"))
    assert len(edges) == 2 and edges.loc[edges["kind"] == "rate", "value"].tolist() == [5.0]


def test_a_batch_naming_a_product_the_graph_lacks_writes_nothing(any_store: GraphStore) -> None:
    any_store.upsert_products([{"id": "p1", "title": "A"}])
    any_store.upsert_users([{"id": "u1"}])
    rows: list[InteractionRow] = [
        {"user_id": "u1", "product_id": "p1", "kind": "view", "ts": 1},
        {"user_id": "u1", "product_id": "gone", "kind": "view", "ts": 2},
    ]
    with pytest.raises(NotFoundError, match="1 of 2 interactions"):
        any_store.upsert_interactions(rows)
    assert not list(any_store.iter_edges("INTERACTED"))  # the batch rolled back
