"""The explorer's endpoints (GET /items/{id}/neighbourhood, GET /facets) and the /ui mount.

Through a TestClient over the shipped sample (tests/api/test_ui.py drives the page
in a real browser).
"""

from __future__ import annotations

from typing import Any

import pytest

from kgrec.graph import GraphStore
from kgrec.graph import explorer as gx
from kgrec.graph.explorer import readable_relation
from tests.utils.api import API_KEY, ClientFactory, link_sample_entities

KEY = {"X-API-Key": API_KEY}


def _edges(answer: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(e["source"], e["target"], e["type"]) for e in answer["edges"]}


def test_neighbourhood_draws_brand_categories_ancestors_entities_and_similar_products(
    make_client: ClientFactory, sample_store: GraphStore
) -> None:
    link_sample_entities(sample_store)
    with make_client(sample_store) as client:
        answer = client.get("/items/p001/neighbourhood", params={"similar": 16})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["item_id"] == "p001" and body["title"] == "Ridge Runner trail shoe"
    assert body["graph"] == "up" and body["truncated"] is False
    nodes = {n["id"]: n for n in body["nodes"]}
    assert nodes["Product:p001"]["role"] == "centre"
    assert nodes["Brand:stride"]["name"] == "Stride Labs"
    # the category and every ancestor up to the root, linked child -> parent
    for cid in ("trail-shoes", "running-shoes", "footwear", "apparel"):
        assert f"Category:{cid}" in nodes, sorted(nodes)
    edges = _edges(body)
    assert ("Product:p001", "Brand:stride", "HAS_BRAND") in edges
    assert ("Product:p001", "Category:trail-shoes", "IN_CATEGORY") in edges
    assert ("Category:trail-shoes", "Category:running-shoes", "SUBCATEGORY_OF") in edges
    assert ("Category:footwear", "Category:apparel", "SUBCATEGORY_OF") in edges
    # entities: a nameless one shows its id, the relation gets a readable label
    assert nodes["Entity:m.0abc"]["name"] == "m.0abc" and nodes["Entity:m.0abc"]["kind"] == "person"
    director = [e for e in body["edges"] if e["target"] == "Entity:m.0abc"]
    assert {e["label"] for e in director} == {"directed by"}
    assert {e["relation"] for e in director} == {"film.film.directed_by"}
    # the 16 other products as similar ones, each linked from the centre with its score
    similar = [n for n in body["nodes"] if n["role"] == "similar"]
    assert len(similar) == 16 and all(isinstance(n["score"], float) for n in similar)
    assert all(("Product:p001", n["id"], "SIMILAR") in edges for n in similar)
    # what a similar product shares with the centre is drawn: p002 is a trail shoe with
    # the same director; p004 has the same brand; p011 (audio) shares nothing
    assert ("Product:p002", "Category:trail-shoes", "IN_CATEGORY") in edges
    assert ("Product:p002", "Entity:m.0abc", "HAS_ENTITY") in edges
    assert ("Product:p004", "Brand:stride", "HAS_BRAND") in edges
    assert not [e for e in edges if e[0] == "Product:p011" and e[2] != "SIMILAR"]
    # every edge ends at a node of the answer
    assert all(s in nodes and t in nodes for s, t, _ in edges)


def test_neighbourhood_is_bounded_and_says_so(
    make_client: ClientFactory, sample_store: GraphStore
) -> None:
    link_sample_entities(sample_store)
    with make_client(sample_store) as client:
        answer = client.get("/items/p001/neighbourhood", params={"similar": 0, "limit": 2})
        too_many = client.get("/items/p001/neighbourhood", params={"limit": 201})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    direct = [e for e in body["edges"] if e["source"] == "Product:p001"]
    assert len(direct) == 2 and body["truncated"] is True  # 4 links, 2 read
    assert not [n for n in body["nodes"] if n["role"] == "similar"]
    assert too_many.status_code == 422 and too_many.json()["detail"].startswith("limit:")


def test_neighbourhood_of_an_unknown_product_is_404_naming_it(
    make_client: ClientFactory, sample_store: GraphStore
) -> None:
    with make_client(sample_store) as client:
        answer = client.get("/items/p-nope/neighbourhood")
    assert answer.status_code == 404
    assert "p-nope" in answer.json()["detail"]


def test_neighbourhood_without_a_graph_gives_the_similar_products_and_says_why(
    make_client: ClientFactory,
) -> None:
    with make_client(None) as client:
        answer = client.get("/items/p001/neighbourhood", params={"similar": 3})
        facets = client.get("/facets")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["graph"] == "none"
    assert [n["role"] for n in body["nodes"]] == ["centre", "similar", "similar", "similar"]
    assert any("left out" in note for note in body["notes"]), body["notes"]
    assert facets.status_code == 503
    assert "type category and brand ids by hand" in facets.json()["detail"]


def test_facets_list_categories_with_parents_brands_and_shoppers(
    make_client: ClientFactory, sample_store: GraphStore
) -> None:
    with make_client(sample_store) as client:
        answer = client.get("/facets", params={"users": 3})
        small = client.get("/facets", params={"limit": 2, "users": 0})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    categories = {c["id"]: c for c in body["categories"]}
    assert categories["trail-shoes"] == {
        "id": "trail-shoes",
        "name": "Trail Shoes",
        "parent_id": "running-shoes",
    }
    assert categories["apparel"]["parent_id"] is None
    assert {"id": "stride", "name": "Stride Labs"} in body["brands"]
    assert body["users"] == ["u01", "u02", "u03"] and body["truncated"] is False
    cut = small.json()
    assert len(cut["categories"]) == 2 and len(cut["brands"]) == 2 and cut["users"] == []
    assert cut["truncated"] is True


def test_explorer_reads_need_the_key_when_reads_require_it(
    make_client: ClientFactory, sample_store: GraphStore
) -> None:
    with make_client(sample_store, serving={"api_read_requires_key": True}) as client:
        refused = client.get("/items/p001/neighbourhood")
        allowed = client.get("/items/p001/neighbourhood", headers=KEY)
        facets = client.get("/facets")
        page = client.get("/ui/")  # the static page itself carries no key
    assert refused.status_code == 401 and "X-API-Key" in refused.json()["detail"]
    assert allowed.status_code == 200
    assert facets.status_code == 401
    assert page.status_code == 200


def test_the_ui_is_served_with_its_vendored_library(make_client: ClientFactory) -> None:
    with make_client(None) as client:
        bare = client.get("/ui", follow_redirects=False)
        page = client.get("/ui/")
        script = client.get("/ui/app.js")
        library = client.get("/ui/vendor/cytoscape.min.js")
        licence = client.get("/ui/vendor/cytoscape.LICENSE")
        schema = client.get("/openapi.json").json()
    assert bare.status_code == 307 and bare.headers["location"].endswith("/ui/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "<title>kgrec explorer</title>" in page.text
    # no network at run time: every script and stylesheet is the page's own
    assert "http://" not in page.text and "https://" not in page.text
    assert script.status_code == 200 and "window.kgrecExplorer" in script.text
    assert library.status_code == 200 and len(library.content) > 100_000
    assert licence.status_code == 200 and "Cytoscape Consortium" in licence.text
    assert "/items/{item_id}/neighbourhood" in schema["paths"]
    assert not any(p.startswith("/ui") for p in schema["paths"])


@pytest.mark.parametrize(
    ("relation", "label"),
    [
        ("film.film.directed_by", "directed by"),
        ("film.film.language", "language"),
        ("made_by", "made by"),
        ("genre", "genre"),
    ],
)
def test_relations_read_as_words(relation: str, label: str) -> None:
    assert readable_relation(relation) == label


def test_every_explorer_statement_is_bounded() -> None:
    statements = [v for k, v in vars(gx).items() if k.isupper() and isinstance(v, str)]
    assert len(statements) == 6
    for statement in statements:
        assert statement.strip().endswith("LIMIT $limit"), statement
