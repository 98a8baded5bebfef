"""PUT /users/{id}: what a shopper declares about itself (the write path and its checks).

How a declared shopper is then ranked: tests/api/test_later_shoppers.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kgrec.graph import GraphStore
from kgrec.text_encoders import EmbeddingCache, TextEncoder
from kgrec.text_encoders.cache import text_key, vector_space
from tests.utils.api import API_KEY, ClientFactory

pytestmark = pytest.mark.neo4j
KEY = {"X-API-Key": API_KEY}


def test_a_put_creates_then_replaces_what_a_shopper_declared(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    with make_client(sample_store) as client:
        first = client.put(
            "/users/web-900", json={"attributes": {"age": 30, "city": "Lyon"}}, headers=KEY
        )
        assert first.status_code == 200, first.text
        assert first.json()["created"] is True
        assert sample_store.nodes_by_id("User", ["web-900"])["web-900"] == {
            "id": "web-900",
            "age": 30,
            "city": "Lyon",
        }
        again = client.put("/users/web-900", json={"attributes": {"age": 31}}, headers=KEY)
        assert again.status_code == 200 and again.json()["created"] is False
        # PUT replaces: the attribute left out is removed
        assert sample_store.nodes_by_id("User", ["web-900"])["web-900"] == {
            "id": "web-900",
            "age": 31,
        }
        # a shopper with interactions keeps them
        before = sample_store.neighbourhood("User", ["u03"], hops=1)
        assert len(before)
        kept = client.put("/users/u03", json={"attributes": {"segment": "gold"}}, headers=KEY)
        assert kept.status_code == 200, kept.text
        after = sample_store.neighbourhood("User", ["u03"], hops=1)
        assert len(after) == len(before)
        assert client.get("/recommendations", params={"user_id": "web-900"}).status_code == 200


def test_a_replaced_declaration_leaves_no_vector_in_the_text_cache(
    sample_store: GraphStore, make_client: ClientFactory, data_dir: Path, encoder: TextEncoder
) -> None:
    """Only the current declaration's text is cached: the one DELETE /users deletes."""
    former, current = "city: Atlantis Former", "city: Atlantis Current"
    cache = EmbeddingCache.in_data_dir(data_dir)
    space = vector_space(encoder)
    try:
        with make_client(sample_store) as client:
            for city in ("Atlantis Former", "Atlantis Current"):
                body = {"attributes": {"city": city}}
                assert client.put("/users/web-903", json=body, headers=KEY).status_code == 200
                assert text_key(f"city: {city}") in cache.get(space, [text_key(f"city: {city}")])
        held = cache.get(space, [text_key(former), text_key(current)])
        assert text_key(former) not in held and text_key(current) in held
    finally:
        cache.close()


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"attributes": {"id": "other"}}, "reserved"),
        ({"attributes": {"Content_Hash": "x"}}, "reserved"),
        ({"attributes": {"1st": "x"}}, "pattern"),
        ({"attributes": {"home town": "x"}}, "pattern"),
        ({"attributes": {"age": [1, 2]}}, "attributes"),
        ({"attributes": {"address": {"city": "Lyon"}}}, "attributes"),
        ({"attributes": {"city": ""}}, "attributes"),
        ({"attributes": {f"a{i}": i for i in range(33)}}, "attributes"),
        ({"attributes": {}, "email": "x@example.com"}, "email"),
    ],
)
def test_a_put_with_attributes_it_cannot_store_is_refused_naming_them(
    sample_store: GraphStore, make_client: ClientFactory, body: dict[str, Any], where: str
) -> None:
    with make_client(sample_store) as client:
        refused = client.put("/users/web-901", json=body, headers=KEY)
        assert refused.status_code == 422, refused.text
        assert where in refused.text
    assert sample_store.existing_ids("User", ["web-901"]) == set()  # nothing written


def test_a_put_needs_the_write_key_and_the_graph(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    body = {"attributes": {"age": 30}}
    with make_client(sample_store) as client:
        assert client.put("/users/web-902", json=body).status_code == 401
    with make_client(None) as client:  # no graph: nothing to write to
        refused = client.put("/users/web-902", json=body, headers=KEY)
        assert refused.status_code == 503 and "need the graph" in refused.json()["detail"]
    assert sample_store.existing_ids("User", ["web-902"]) == set()
