"""Request bounds of the HTTP API (issue 18), and what a request logs.

Strict ints, the schema's bounds, body errors, string lengths:
every error names the field without echoing the input.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from kgrec.graph import GraphStore
from tests.utils.api import API_KEY, ClientFactory

KEY = {"X-API-Key": API_KEY}
JSON_KEY = {**KEY, "content-type": "application/json"}


# 8. Strict ints, bounds in the schema, body errors, lengths ------------------------------
@pytest.mark.parametrize("k", ["true", "1e2", "100.0", "101", '"5"'])
def test_search_k_is_a_strict_integer_within_max_k(
    sample_store: GraphStore, make_client: ClientFactory, k: str
) -> None:
    with make_client(sample_store) as client:
        answer = client.post(
            "/search", content='{"query": "shoe", "k": VALUE}'.replace("VALUE", k), headers=JSON_KEY
        )
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("k"), answer.json()


def test_the_openapi_schema_states_the_configured_max_k(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    with make_client(sample_store, serving={"max_k": 20}) as client:
        schema = client.get("/openapi.json").json()
        for path in ("/recommendations", "/items/{item_id}/similar"):
            (k,) = [p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == "k"]
            assert k["schema"]["maximum"] == 20 and k["schema"]["minimum"] == 1, k
        search = schema["components"]["schemas"]["SearchIn"]["properties"]["k"]
        assert search["maximum"] == 20, search
        assert client.get("/recommendations", params={"k": 20}).status_code == 200
        too_many = client.get("/recommendations", params={"k": 21})
        assert too_many.status_code == 422 and too_many.json()["detail"].startswith("k")
        body = {"query": "shoe", "k": 21}
        assert client.post("/search", json=body).json()["detail"].startswith("k")
        price = schema["components"]["schemas"]["ItemIn"]["properties"]["price"]
        assert price["anyOf"][0]["maximum"] == 1e9, price


def test_a_body_that_is_not_utf8_is_a_documented_422(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    with make_client(sample_store) as client:
        answer = client.post("/search", content=b'{"query": "caf\xe9"}', headers=JSON_KEY)
        documented = client.get("/openapi.json").json()["paths"]["/search"]["post"]["responses"]
    assert answer.status_code == 422, answer.text
    assert "UTF-8" in answer.json()["detail"] and answer.json()["detail"].startswith("body")
    assert "422" in documented


def test_malformed_json_names_line_column_and_what_was_expected(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    with make_client(sample_store) as client:
        answer = client.post("/search", content=b'{\n  "query": }', headers=JSON_KEY)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert detail.startswith("body") and "line 2, column 12" in detail, detail
    assert "Expecting value" in detail, detail


def test_min_price_above_max_price_is_422(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    with make_client(sample_store) as client:
        prices = {"min_price": 50, "max_price": 10}
        for path in ("/recommendations", "/items/p001/similar"):
            answer = client.get(path, params=prices)
            assert answer.status_code == 422, answer.text
            assert answer.json()["detail"].startswith("min_price"), answer.json()
        answer = client.post("/search", json={"query": "shoe", **prices})
        assert answer.status_code == 422 and answer.json()["detail"].startswith("min_price")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"context_item": "x" * 60_000}, "context_item"),
        ({"user_id": "u" * 257}, "user_id"),
        ({"category": "c" * 300}, "category.0"),
        ({"brand": ["stride", "b" * 300]}, "brand.1"),
        ({"query": "q" * 1001}, "query"),
    ],
)
def test_long_strings_are_rejected_without_echoing_them(
    sample_store: GraphStore, make_client: ClientFactory, params: dict[str, Any], field: str
) -> None:
    with make_client(sample_store) as client:
        answer = client.get("/recommendations", params=params)
    assert answer.status_code == 422, answer.text[:500]
    assert answer.json()["detail"].startswith(field), answer.text[:500]
    assert len(answer.content) < 2_000


def test_a_huge_unknown_key_is_not_echoed(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    body = {"query": "shoe", "k" * 60_000: 1}
    with make_client(sample_store) as client:
        answer = client.post("/search", json=body)
    assert answer.status_code == 422
    assert len(answer.content) < 2_000, answer.text[:500]


def test_a_batch_of_bad_entries_lists_the_first_50(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    events = [{"user_id": "u", "product_id": "p001", "kind": "stare"}] * 200
    with make_client(sample_store) as client:
        answer = client.post("/events", json={"events": events}, headers=KEY)
    assert answer.status_code == 422
    assert len(answer.json()["errors"]) == 50
    assert answer.json()["detail"].endswith("and 150 more errors")


# 9. Findable: logs ----------------------------------------------------------------------
def test_an_access_log_line_per_request(
    sample_store: GraphStore, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kgrec.api.access")
    with make_client(sample_store) as client:
        client.get("/items/p001/similar", params={"k": 2})
        client.get("/recommendations", params={"k": 0})
    lines = [r.getMessage() for r in caplog.records if r.name == "kgrec.api.access"]
    assert len(lines) == 2, lines
    assert lines[0].startswith("GET /items/{item_id}/similar 200 ") and lines[0].endswith(" ms")
    assert lines[1].startswith("GET /recommendations 422 ")
    caplog.clear()
    with make_client(sample_store, serving={"api_access_log": False}) as client:
        client.get("/health")
    assert not [r for r in caplog.records if r.name == "kgrec.api.access"]


def test_a_service_without_a_key_says_writes_are_disabled(
    sample_store: GraphStore, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kgrec.api.app")
    with make_client(sample_store, serving={"api_key": None}):
        pass
    messages = [r.getMessage() for r in caplog.records if r.name == "kgrec.api.app"]
    assert any("KGREC_SERVING__API_KEY" in m and "disabled" in m for m in messages), messages
    caplog.clear()
    with make_client(sample_store):
        pass
    assert not [r for r in caplog.records if "disabled" in r.getMessage()]
