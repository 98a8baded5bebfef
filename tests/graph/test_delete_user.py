"""GraphStore.delete_user: the node and every relationship of it, in one transaction.

On each server kind; other shoppers and the products keep theirs.
"""

from __future__ import annotations

import pytest

from kgrec.graph import GraphStore

pytestmark = pytest.mark.neo4j


def _load(store: GraphStore) -> None:
    store.upsert_products([{"id": "p1", "title": "Trail shoe"}, {"id": "p2", "title": "Sock"}])
    store.upsert_users([{"id": "u1", "attrs": {"country": "DE", "age": 31}}, {"id": "u2"}])
    store.upsert_interactions(
        [
            {"user_id": "u1", "product_id": "p1", "kind": "view", "ts": 1},
            {"user_id": "u1", "product_id": "p1", "kind": "purchase", "ts": 2},
            {"user_id": "u1", "product_id": "p2", "kind": "view", "ts": 3},
            {"user_id": "u2", "product_id": "p1", "kind": "view", "ts": 4},
        ]
    )


def test_a_user_is_deleted_with_every_interaction(any_store: GraphStore) -> None:
    _load(any_store)
    forgotten = any_store.delete_user("u1")
    assert forgotten is not None
    assert forgotten.relationships == 3
    assert forgotten.props == {"id": "u1", "country": "DE", "age": 31}
    assert any_store.existing_ids("User", ["u1", "u2"]) == {"u2"}
    assert any_store.count_relationships()["INTERACTED"] == 1
    assert any_store.existing_ids("Product", ["p1", "p2"]) == {"p1", "p2"}
    assert any_store.cypher("MATCH (u:User {id: 'u1'})-[r]-() RETURN r").empty


def test_an_unknown_user_changes_nothing(any_store: GraphStore) -> None:
    _load(any_store)
    assert any_store.delete_user("nobody") is None
    assert any_store.delete_user("p1") is None  # a product's id names no user
    assert any_store.count_relationships()["INTERACTED"] == 4
    assert any_store.existing_ids("Product", ["p1"]) == {"p1"}
