"""A query parameter no route reads is a 422 naming it, not silently ignored."""

from __future__ import annotations

from kgrec.graph import GraphStore
from tests.utils.api import ClientFactory


def test_a_misspelt_filter_is_refused_with_the_closest_name(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    with make_client(sample_store) as client:
        misspelt = client.get("/recommendations", params={"categories": "trail-shoes", "k": 3})
        assert misspelt.status_code == 422, misspelt.text
        detail = misspelt.json()["detail"]
        assert detail.startswith("categories: unknown query parameter; did you mean 'category'?")
        assert "category" in detail and "min_price" in detail and "user_id" in detail, detail
        assert misspelt.json()["errors"][0]["loc"] == ["query", "categories"]
        spelt = client.get("/recommendations", params={"category": "trail-shoes", "k": 3})
        assert spelt.status_code == 200, spelt.text
        items = spelt.json()["items"]
        assert items and all("trail-shoes" in i["category_ids"] for i in items), items


def test_every_unknown_name_is_listed_and_routes_without_parameters_say_so(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    with make_client(sample_store) as client:
        both = client.get("/recommendations", params={"usr": "u1", "kk": 3})
        assert both.status_code == 422, both.text
        assert [e["loc"] for e in both.json()["errors"]] == [["query", "usr"], ["query", "kk"]]
        health = client.get("/health", params={"verbose": "1"})
        assert health.status_code == 422, health.text
        assert "this route reads no query parameters" in health.json()["detail"]
        search = client.post("/search", params={"k": 3}, json={"query": "shoe"})
        assert search.status_code == 422 and search.json()["detail"].startswith("k: unknown")
        assert client.get("/health").status_code == 200
