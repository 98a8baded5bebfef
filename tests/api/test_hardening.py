"""Input bounds of the HTTP API's writes and numbers (issue 18).

Every number finite and bounded, ids checked, writes all-or-nothing, errors that
name the field without echoing input. Request bounds and logs:
``test_request_bounds.py``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from http.client import HTTPConnection
from typing import Any, NoReturn

import pytest

from kgrec.api.app import create_app
from kgrec.api.engine import Engine
from kgrec.api.wiring import Services, engine_options, gnn_embedder_factory
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.graph import GraphStore
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder
from tests.utils.api import API_KEY, ClientFactory, live_server
from tests.utils.settings import make_settings

KEY = {"X-API-Key": API_KEY}
JSON_KEY = {**KEY, "content-type": "application/json"}


def _interactions(store: GraphStore, user_id: str) -> list[dict[str, Any]]:
    frame = store.cypher(
        "MATCH (:User {id: $u})-[i:INTERACTED]->(p:Product) "
        "RETURN p.id AS product, i.kind AS kind, i.ts AS ts ORDER BY ts",
        {"u": user_id},
    )
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


# 1. Floats -------------------------------------------------------------------------
@pytest.mark.parametrize("price", ["1e309", "-1e309", "NaN", "Infinity", "2e9", "true", '"5"'])
def test_a_price_that_is_not_finite_and_bounded_is_422_and_nothing_is_written(
    sample_store: GraphStore, make_client: ClientFactory, price: str
) -> None:
    body = '{"items": [{"id": "p-inf", "title": "x", "price": VALUE}]}'.replace("VALUE", price)
    with make_client(sample_store) as client:
        answer = client.post("/items", content=body, headers=JSON_KEY)
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"].startswith("items.0.price"), answer.json()
        ranked = client.get("/recommendations", params={"user_id": "u03", "k": 3}).json()
        assert all(i["score"]["total"] is not None for i in ranked["items"])
    assert sample_store.existing_ids("Product", ["p-inf"]) == set()


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e309", "2e9"])
def test_an_event_value_that_is_not_finite_and_bounded_is_422(
    sample_store: GraphStore, make_client: ClientFactory, value: str
) -> None:
    body = (
        '{"events": [{"user_id": "u-val", "product_id": "p001", "kind": "rate", '
        '"ts": 1700000000, "value": VALUE}]}'
    ).replace("VALUE", value)
    with make_client(sample_store) as client:
        answer = client.post("/events", content=body, headers=JSON_KEY)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("events.0.value"), answer.json()
    assert sample_store.existing_ids("User", ["u-val"]) == set()


def test_price_filters_must_be_finite_and_bounded(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    with make_client(sample_store) as client:
        for bad in ("inf", "nan", "-inf", "2e9"):
            answer = client.get("/recommendations", params={"max_price": bad})
            assert answer.status_code == 422, (bad, answer.text)
            assert answer.json()["detail"].startswith("max_price"), answer.json()
        body = '{"query": "shoe", "min_price": 1e309}'
        answer = client.post("/search", content=body, headers=JSON_KEY)
        assert answer.status_code == 422 and answer.json()["detail"].startswith("min_price")


# 2. Integers and all-or-nothing event writes -------------------------------------------
@pytest.mark.parametrize(
    "ts", ["9223372036854775808", "1700000000000", "-1", "1.5", "true", '"1700000000"']
)
def test_a_timestamp_out_of_range_is_422_and_writes_nothing(
    sample_store: GraphStore, make_client: ClientFactory, ts: str
) -> None:
    body = (
        '{"events": [{"user_id": "u-ok", "product_id": "p001", "kind": "view", "ts": 1700000000},'
        '{"user_id": "u-ts", "product_id": "50", "kind": "view", "ts": VALUE}]}'
    ).replace("VALUE", ts)
    with make_client(sample_store) as client:
        answer = client.post("/events", content=body, headers=JSON_KEY)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("events.1.ts"), answer.json()
    assert sample_store.existing_ids("User", ["u-ok", "u-ts"]) == set()


def test_an_unknown_product_anywhere_in_the_batch_writes_nothing(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    events = [
        {"user_id": "u-first", "product_id": "p001", "kind": "view", "event_id": "nf-1"},
        {"user_id": "u-second", "product_id": "p-missing", "kind": "view", "event_id": "nf-2"},
    ]
    with make_client(sample_store) as client:
        answer = client.post("/events", json={"events": events}, headers=KEY)
        assert answer.status_code == 404, answer.text
        detail = answer.json()["detail"]
        assert detail.startswith("events.1.product_id") and "p-missing" in detail, detail
        assert sample_store.existing_ids("User", ["u-first", "u-second"]) == set()
        # the refused batch left its event ids free: the corrected batch is written
        events[1]["product_id"] = "p002"
        fixed = client.post("/events", json={"events": events}, headers=KEY)
        assert fixed.status_code == 201, fixed.text
        assert fixed.json()["repeated"] == 0
    assert len(_interactions(sample_store, "u-second")) == 1


def test_an_unexpected_error_is_a_json_500_that_keeps_the_connection_usable(
    data_dir: Any,
    sample_store: GraphStore,
    sample_artifacts: ArtifactSet,
    encoder: TextEncoder,
) -> None:
    settings = make_settings(data_dir, serving={"api_key": API_KEY})

    def broken(*args: object, **kwargs: object) -> NoReturn:
        raise RuntimeError("a bug")

    @contextlib.contextmanager
    def services(s: Settings) -> Iterator[Services]:
        engine = Engine(
            engine_options(s),
            sample_artifacts,
            encoder,
            sample_store,
            gnn_embedder_factory(s, encoder),
        )
        engine.record_events = broken  # type: ignore[method-assign]
        yield Services(settings=s, engine=engine, store=sample_store)

    event = b'{"events": [{"user_id": "u1", "product_id": "p001", "kind": "view", "ts": 1}]}'
    with live_server(create_app(settings, services)) as port:
        conn = HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/events", body=event, headers=JSON_KEY)
        failed = conn.getresponse()
        text = failed.read().decode()
        assert failed.status == 500, text
        assert "internal error" in text and "a bug" not in text
        assert (failed.getheader("connection") or "").lower() != "close"
        conn.request("GET", "/health")  # the same connection answers the next request
        again = conn.getresponse()
        assert again.status == 200, again.read()
        again.read()
        conn.close()


# 7. Ids, categories, idempotent events, PUT -------------------------------------------
def test_an_unknown_category_is_422_naming_it_and_nothing_is_written(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    item = {"id": "p950", "title": "Wool hat", "category_ids": ["outerwear", "no-such-cat"]}
    with make_client(sample_store) as client:
        answer = client.post("/items", json={"items": [item]}, headers=KEY)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert detail.startswith("items.0.category_ids.1") and "no-such-cat" in detail, detail
    assert sample_store.existing_ids("Product", ["p950"]) == set()
    assert sample_store.existing_ids("Category", ["no-such-cat"]) == set()
    misspelt = {"id": "p951", "title": "Wool hat", "category_ids": ["outerwaer"]}
    with make_client(sample_store) as client:
        answer = client.post("/items", json={"items": [misspelt]}, headers=KEY)
        assert (
            "category 'outerwaer' does not exist; did you mean 'outerwear'?"
            in (answer.json()["detail"])
        ), answer.json()
        filtered = client.get("/recommendations", params={"category": "Outerwear"})
        assert filtered.status_code == 404, filtered.text
        assert filtered.json()["detail"] == (
            "category: category 'Outerwear' not found; did you mean 'outerwear'?"
        )


def test_a_brand_only_a_product_added_online_carries_filters_and_hints(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    item = {"id": "p952", "title": "Loom scarf", "category_ids": ["outerwear"]}
    item |= {"brand_id": "loomcraft"}  # a brand the version's catalogue lacks
    with make_client(sample_store) as client:
        added = client.post("/items", json={"items": [item]}, headers=KEY)
        assert added.status_code == 201, added.text
        kept = client.get("/recommendations", params={"brand": "loomcraft", "k": 5})
        assert kept.status_code == 200, kept.text
        assert [i["id"] for i in kept.json()["items"]] == ["p952"], kept.json()
        misspelt = client.get("/recommendations", params={"brand": "loomcraf"})
        assert misspelt.status_code == 404, misspelt.text
        assert misspelt.json()["detail"] == (
            "brand: brand 'loomcraf' not found; did you mean 'loomcraft'?"
        )


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/items", {"items": [{"id": "", "title": "t"}]}, "items.0.id"),
        ("/items", {"items": [{"id": "   ", "title": "t"}]}, "items.0.id"),
        ("/items", {"items": [{"id": "a/b", "title": "t"}]}, "items.0.id"),
        ("/items", {"items": [{"id": "a\nb", "title": "t"}]}, "items.0.id"),
        ("/items", {"items": [{"id": "p1", "title": "t", "brand_id": " "}]}, "items.0.brand_id"),
        (
            "/items",
            {
                "items": [
                    {"id": "p1", "title": "t"},
                    {"id": "p2", "title": "t"},
                    {"id": "p1", "title": "u"},
                ]
            },
            "items.2.id",
        ),
        (
            "/items",
            {"items": [{"id": "p1", "title": "t", "category_ids": ["audio", "audio"]}]},
            "items.0.category_ids.1",
        ),
        (
            "/events",
            {"events": [{"user_id": "a/b", "product_id": "p001", "kind": "view"}]},
            "events.0.user_id",
        ),
        (
            "/events",
            {"events": [{"user_id": "u", "product_id": " ", "kind": "view"}]},
            "events.0.product_id",
        ),
        (
            "/events",
            {
                "events": [
                    {"user_id": "u", "product_id": "p001", "kind": "view", "event_id": "e1"},
                    {"user_id": "u", "product_id": "p002", "kind": "view", "event_id": "e1"},
                ]
            },
            "events.1.event_id",
        ),
    ],
)
def test_bad_ids_are_422_naming_the_field_and_index(
    sample_store: GraphStore,
    make_client: ClientFactory,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    with make_client(sample_store) as client:
        answer = client.post(path, json=body, headers=KEY)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(field), answer.json()
    assert sample_store.existing_ids("Product", ["p1", "p2", "a/b"]) == set()
    assert sample_store.existing_ids("User", ["u", "a/b"]) == set()


def test_a_repeated_event_id_is_a_no_op(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    event = {"user_id": "u-idem", "product_id": "p015", "kind": "purchase", "event_id": "ord-1"}
    with make_client(sample_store) as client:
        first = client.post("/events", json={"events": [event]}, headers=KEY)
        assert first.status_code == 201, first.text
        time.sleep(1.1)  # a later second: a defaulted ts would differ
        again = client.post("/events", json={"events": [event]}, headers=KEY)
        assert again.status_code == 201, again.text
        assert again.json()["repeated"] == 1 and again.json()["unchanged"] == 1
        other = {**event, "product_id": "p016"}
        clash = client.post("/events", json={"events": [other]}, headers=KEY)
        assert clash.status_code == 422, clash.text
        assert clash.json()["detail"].startswith("events.0.event_id")
    stored = _interactions(sample_store, "u-idem")
    assert len(stored) == 1 and stored[0]["product"] == "p015", stored


def test_the_answer_counts_an_event_the_graph_held_already(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    """Without ts and event_id, one event sent twice within a second is one interaction.

    The answer says so (``unchanged``) instead of counting two stored.
    """
    event = {"user_id": "u-twice", "product_id": "p015", "kind": "view", "ts": 1_700_000_000}
    with make_client(sample_store) as client:
        first = client.post("/events", json={"events": [event, event]}, headers=KEY)
        assert first.status_code == 201, first.text
        assert (first.json()["accepted"], first.json()["unchanged"]) == (2, 1)
        again = client.post("/events", json={"events": [event]}, headers=KEY)
        assert (again.json()["accepted"], again.json()["unchanged"]) == (1, 1)
        later = client.post(
            "/events", json={"events": [{**event, "ts": 1_700_000_001}]}, headers=KEY
        )
        assert later.json()["unchanged"] == 0
    assert len(_interactions(sample_store, "u-twice")) == 2


def test_an_event_id_survives_a_restart(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    event = {"user_id": "u-restart", "product_id": "p015", "kind": "cart", "event_id": "c-9"}
    for _ in range(2):
        with make_client(sample_store) as client:
            answer = client.post("/events", json={"events": [event]}, headers=KEY)
            assert answer.status_code == 201, answer.text
        time.sleep(1.1)
    assert len(_interactions(sample_store, "u-restart")) == 1


def test_put_replaces_a_product(sample_store: GraphStore, make_client: ClientFactory) -> None:
    item = {
        "id": "p960",
        "title": "Trail gaiters",
        "description": "Keep stones out of trail shoes",
        "price": 25.0,
        "brand_id": "stride",
        "category_ids": ["outerwear"],
    }
    with make_client(sample_store) as client:
        assert client.post("/items", json={"items": [item]}, headers=KEY).status_code == 201
        replaced = client.put(
            "/items/p960",
            json={"title": "Trail gaiters v2", "category_ids": ["trail-shoes"]},
            headers=KEY,
        )
        assert replaced.status_code == 200, replaced.text
        assert replaced.json()["added"] == ["p960"]
        query = {"query": "trail gaiters", "k": 5}
        hits = [i for i in client.post("/search", json=query).json()["items"] if i["id"] == "p960"]
        assert len(hits) == 1
        assert hits[0]["title"] == "Trail gaiters v2" and hits[0]["price"] is None
        assert hits[0]["category_ids"] == ["trail-shoes"]
        unknown = client.put(
            "/items/p960", json={"title": "x", "category_ids": ["nope"]}, headers=KEY
        )
        assert unknown.status_code == 422 and unknown.json()["detail"].startswith("category_ids.0")
        slash = client.put("/items/a%2Fb", json={"title": "x"}, headers=KEY)
        assert slash.status_code in (404, 422), slash.text
        assert client.put("/items/p960", json={"title": "x"}).status_code == 401
    props = sample_store.nodes_by_id("Product", ["p960"])["p960"]
    assert "price" not in props and "description" not in props
    assert props["title"] == "Trail gaiters v2"
    cats = sample_store.cypher(
        "MATCH (:Product {id: 'p960'})-[:IN_CATEGORY]->(c) RETURN c.id AS c"
    ).to_dict("records")
    assert cats == [{"c": "trail-shoes"}]
