"""The HTTP API against the embedded graph, the real encoder and sample artifacts."""

from __future__ import annotations

import contextlib
import importlib.metadata
import socket
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import neo4j
import pytest
import torch

from kgrec.api.app import create_app
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.graph import GraphStore, embedded_server, store_options
from kgrec.settings import Settings
from tests.utils.api import API_KEY, ClientFactory, threads_of_a_new_thread
from tests.utils.metrics import sample
from tests.utils.settings import make_settings

KEY = {"X-API-Key": API_KEY}
CATEGORY_TREE = {
    "footwear": {"footwear", "running-shoes", "trail-shoes"},
    "audio": {"audio", "headphones", "speakers"},
}

GOGGLES: dict[str, Any] = {
    "id": "p900",
    "title": "Alpine ski goggles",
    "description": "Anti-fog double lens goggles for skiing in the cold",
    "price": 89.0,
    "brand_id": "northpeak",
    "category_ids": ["outerwear"],
}
"""A product the sample lacks, posted by the item tests."""


def ids(answer: dict[str, object]) -> list[str]:
    items = answer["items"]
    assert isinstance(items, list)
    return [str(i["id"]) for i in items]


def test_new_item_appears_for_matching_query_in_the_next_request(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    query = {"query": "insulated ski goggles with anti-fog lens", "k": 3}
    with make_client(sample_store) as client:
        before = client.post("/search", json=query).json()
        assert "p900" not in ids(before)
        added = client.post("/items", json={"items": [GOGGLES]}, headers=KEY)
        assert added.status_code == 201, added.text
        assert added.json()["added"] == ["p900"]
        after = client.post("/search", json=query).json()
        assert ids(after)[0] == "p900"
        assert client.get("/items/p900/similar", params={"k": 3}).status_code == 200
    assert sample_store.existing_ids("Product", ["p900"]) == {"p900"}


def test_reposting_an_item_merges_the_fields_it_leaves_out(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    with make_client(sample_store) as client:
        assert client.post("/items", json={"items": [GOGGLES]}, headers=KEY).status_code == 201
        retitled = {"id": "p900", "title": "Alpine ski goggles II"}
        again = client.post("/items", json={"items": [retitled]}, headers=KEY)
        assert again.status_code == 201, again.text
        query = {"query": "anti-fog ski goggles", "k": 3}
        hits = [i for i in client.post("/search", json=query).json()["items"] if i["id"] == "p900"]
        assert len(hits) == 1
        assert hits[0]["title"] == "Alpine ski goggles II" and hits[0]["price"] == 89.0
        assert hits[0]["brand_id"] == "northpeak" and hits[0]["category_ids"] == ["outerwear"]
    props = sample_store.nodes_by_id("Product", ["p900"])["p900"]
    assert props["title"] == "Alpine ski goggles II" and props["price"] == 89.0
    assert props["description"] == GOGGLES["description"]
    links = sample_store.cypher(
        "MATCH (:Product {id: 'p900'})-[r]->(x) RETURN type(r) AS t, x.id AS x ORDER BY t"
    )
    assert links.to_dict("records") == [
        {"t": "HAS_BRAND", "x": "northpeak"},
        {"t": "IN_CATEGORY", "x": "outerwear"},
    ]


def test_unknown_user_gets_results_from_context_and_popularity(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    with make_client(sample_store) as client:
        plain = client.get("/recommendations", params={"user_id": "never-seen", "k": 5})
        assert plain.status_code == 200
        assert plain.json()["strategy"] == "popularity"
        assert len(ids(plain.json())) == 5
        viewed = client.get(
            "/recommendations",
            params={"user_id": "never-seen", "k": 3, "context_item": "p010"},
        ).json()
        assert viewed["strategy"] == "context" and not viewed["user_known"]
        assert "p010" not in ids(viewed)
        cats = {c for item in viewed["items"] for c in item["category_ids"]}
        assert cats & CATEGORY_TREE["audio"], viewed


def test_events_change_the_users_results(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    with make_client(sample_store) as client:
        params: dict[str, str | int] = {"user_id": "shopper-1", "k": 4}
        before = client.get("/recommendations", params=params).json()
        assert before["strategy"] == "popularity"
        events = [
            {"user_id": "shopper-1", "product_id": p, "kind": "purchase", "ts": 1_800_000_000 + i}
            for i, p in enumerate(["p015", "p016"])
        ]
        written = client.post("/events", json={"events": events}, headers=KEY)
        assert written.status_code == 201, written.text
        assert written.json() == {
            "accepted": 2,
            "users_updated": ["shopper-1"],
            "repeated": 0,
            "unchanged": 0,
        }
        after = client.get("/recommendations", params=params).json()
        assert after["strategy"] == "user" and after["user_known"]
        assert after["items"] != before["items"]
        assert not {"p015", "p016"} & set(ids(after))  # purchased items are excluded
        # the remaining coffee maker (same brand and category) ranks above every audio product
        ranked = ids(client.get("/recommendations", params={**params, "k": 15}).json())
        audio = [ranked.index(p) for p in ("p010", "p011", "p012", "p013", "p014")]
        assert ranked.index("p017") < min(audio), ranked
        explained = client.get("/explain", params={"user_id": "shopper-1", "item_id": "p015"})
        path = explained.json()["path"]
        assert path[0]["id"] == "shopper-1" and path[-1]["id"] == "p015"


def test_filters_hold(sample_store: GraphStore, make_client: ClientFactory) -> None:
    with make_client(sample_store) as client:
        by_category = client.get(
            "/recommendations", params={"user_id": "u03", "k": 20, "category": "footwear"}
        ).json()["items"]
        assert by_category
        assert all(set(i["category_ids"]) & CATEGORY_TREE["footwear"] for i in by_category)
        cheap = client.post(
            "/search",
            json={
                "query": "running",
                "k": 20,
                "max_price": 100,
                "min_price": 30,
                "in_stock_only": True,
                "brands": ["stride", "pulse"],
            },
        ).json()["items"]
        assert cheap
        assert all(
            30 <= i["price"] <= 100 and i["in_stock"] and i["brand_id"] in {"stride", "pulse"}
            for i in cheap
        )
        nothing = client.get("/recommendations", params={"min_price": 1e8, "k": 5}).json()
        assert nothing["items"] == [], nothing
        assert "none passes the filters (min_price 1e+08)" in " ".join(nothing["notes"]), nothing
        few = client.get("/recommendations", params={"brand": "stride", "k": 100}).json()
        short = f"only {len(few['items'])} of the 100 asked for pass the filters (brand stride)"
        assert 0 < len(few["items"]) < 100 and short in " ".join(few["notes"]), few["notes"]
        full = client.get("/recommendations", params={"brand": "stride", "k": 2}).json()
        assert len(full["items"]) == 2 and not any("filters (" in n for n in full["notes"])
        missing = client.get("/recommendations", params={"category": "no-such-cat"})
        assert missing.status_code == 404 and "no-such-cat" in missing.json()["detail"]
        unknown_item = client.get("/items/p404/similar")
        assert unknown_item.status_code == 404 and "p404" in unknown_item.json()["detail"]


def test_auth_is_enforced(sample_store: GraphStore, make_client: ClientFactory) -> None:
    body = {"items": [{"id": "p901", "title": "Thermal socks"}]}
    with make_client(sample_store) as client:
        assert client.post("/items", json=body).status_code == 401
        wrong = client.post("/items", json=body, headers={"X-API-Key": "nope"})
        assert wrong.status_code == 401 and "X-API-Key" in wrong.json()["detail"]
        assert client.post("/events", json={"events": []}, headers={}).status_code == 401
        assert client.get("/recommendations").status_code == 200  # reads open by default
    with make_client(sample_store, serving={"api_read_requires_key": True}) as client:
        assert client.get("/recommendations").status_code == 401
        assert client.get("/recommendations", headers=KEY).status_code == 200
        assert client.get("/health").status_code == 200  # probes stay open
    with make_client(sample_store, serving={"api_key": None}) as client:
        refused = client.post("/items", json=body, headers=KEY)
        assert refused.status_code == 401 and "KGREC_SERVING__API_KEY" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "payload", "field"),
    [
        ("get", "/recommendations", {"k": 0}, "k"),
        ("get", "/recommendations", {"k": 101}, "k"),
        ("get", "/recommendations", {"min_price": "cheap"}, "min_price"),
        ("post", "/search", {"k": 5}, "query"),
        ("post", "/search", {"query": "x", "k": "many"}, "k"),
        (
            "post",
            "/events",
            {"events": [{"user_id": "u", "product_id": "p001", "kind": "x"}]},
            "events.0.kind",
        ),
        ("post", "/items", {"items": [{"id": "p1", "title": "t", "price": -1}]}, "items.0.price"),
        ("post", "/items", {"items": []}, "items"),
    ],
)
def test_malformed_input_is_rejected_naming_the_field(
    sample_store: GraphStore,
    make_client: ClientFactory,
    method: str,
    path: str,
    payload: dict[str, Any],
    field: str,
) -> None:
    with make_client(sample_store) as client:
        if method == "get":
            answer = client.get(path, params=payload)
        else:
            answer = client.post(path, json=payload, headers=KEY)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(field), answer.json()


def test_unknown_product_in_events_is_404_with_the_id(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    event = {"user_id": "u01", "product_id": "p-missing", "kind": "view"}
    with make_client(sample_store) as client:
        answer = client.post("/events", json={"events": [event]}, headers=KEY)
    assert answer.status_code == 404 and "p-missing" in answer.json()["detail"]


def test_degraded_mode_reads_serve_writes_503(
    settings: Settings, make_client: ClientFactory
) -> None:
    # a real driver to a port where no graph server listens: the server is gone
    uri = "bolt://127.0.0.1:9"
    dead = GraphStore(
        neo4j.GraphDatabase.driver(uri, auth=("neo4j", "x")),
        "kgrec",
        uri,
        store_options(settings.graph),
    )
    try:
        with make_client(dead) as client:
            health = client.get("/health").json()
            assert health["status"] == "degraded" and health["graph"] == "down"
            reads = client.get("/recommendations", params={"user_id": "u03", "k": 3})
            assert reads.status_code == 200 and len(ids(reads.json())) == 3
            assert client.post("/search", json={"query": "coffee"}).status_code == 200
            started = time.monotonic()
            event = {"user_id": "u03", "product_id": "p001", "kind": "view"}
            refused = client.post("/events", json={"events": [event]}, headers=KEY)
            assert refused.status_code == 503
            assert "graph server" in refused.json()["detail"]
            assert "nothing was written" in refused.json()["detail"]
            item = {"items": [{"id": "p902", "title": "Snow boots"}]}
            assert client.post("/items", json=item, headers=KEY).status_code == 503
            # categories the check cannot vet: 503 from the check itself, not a write
            boots = {"items": [{"id": "p902", "title": "Snow boots", "category_ids": ["boots"]}]}
            vetted = client.post("/items", json=boots, headers=KEY)
            assert vetted.status_code == 503
            assert vetted.json()["detail"].startswith("products not accepted"), vetted.json()
            assert time.monotonic() - started < 5  # no driver retry storm
            metrics = client.get("/metrics").text
            refused_events = {"method": "POST", "route": "/events", "status": "503"}
            assert sample(metrics, "kgrec_requests_total", **refused_events) == 1
            assert sample(metrics, "kgrec_graph_up") == 0
    finally:
        dead.close()


@contextlib.contextmanager
def _late_server(target_port: int) -> Iterator[tuple[int, Callable[[], None]]]:
    """A graph server that comes up after the service, as a loopback port.

    It refuses connections until ``bring_up()`` is called, then forwards them to
    ``target_port``. ``bring_up`` returns once the port listens (no race with the
    next request).
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    up = threading.Event()
    listening = threading.Event()

    def pipe(a: socket.socket, b: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := a.recv(65536):
                b.sendall(data)
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def serve() -> None:
        up.wait()
        listener.listen()
        listening.set()
        with contextlib.suppress(OSError):
            while True:
                client, _ = listener.accept()
                upstream = socket.create_connection(("127.0.0.1", target_port))
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=pipe, args=(a, b), daemon=True).start()

    def bring_up() -> None:
        up.set()
        assert listening.wait(10), "the late server did not start listening"

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1], bring_up
    finally:
        up.set()
        listener.close()


def test_service_recovers_when_the_graph_comes_up(
    settings: Settings, sample_store: GraphStore, make_client: ClientFactory
) -> None:
    target = int(sample_store.uri.rsplit(":", 1)[1])
    with _late_server(target) as (port, bring_up):
        uri = f"bolt://127.0.0.1:{port}"
        auth = embedded_server(settings.graph, settings.data_dir).auth
        late = GraphStore.unchecked(uri, auth, sample_store.database, store_options(settings.graph))
        try:
            with make_client(late, serving={"graph_check_interval_s": 0}) as client:
                assert client.get("/health").json()["graph"] == "down"
                event = {"user_id": "u03", "product_id": "p001", "kind": "view"}
                body = {"events": [event]}
                assert client.post("/events", json=body, headers=KEY).status_code == 503
                bring_up()  # the server answers now
                assert client.get("/health").json()["status"] == "ok"
                assert client.post("/events", json=body, headers=KEY).status_code == 201
        finally:
            late.close()


def test_health_metrics_and_openapi(
    sample_store: GraphStore, sample_artifacts: ArtifactSet, make_client: ClientFactory
) -> None:
    version = sample_artifacts.manifest.version
    with make_client(sample_store) as client:
        start = time.perf_counter()
        answer = client.get("/recommendations", params={"k": 2})
        waited_ms = (time.perf_counter() - start) * 1e3
        # the service's share of the wait, in the W3C header: `app;dur=<ms>`
        name, took = answer.headers["server-timing"].split(";dur=")
        assert name == "app" and 0.0 < float(took) <= waited_ms
        assert "server-timing" in client.get("/nowhere").headers  # a 404 too
        health = client.get("/health").json()
        assert health["status"] == "ok" and health["artifact_version"] == version
        assert health["items"] == 17
        text = client.get("/metrics").text
        route = "/recommendations"
        ok = {"method": "GET", "route": route, "status": "200"}
        assert sample(text, "kgrec_requests_total", **ok) == 1
        assert sample(text, "kgrec_request_seconds_bucket", route=route, le="+Inf") == 1
        assert sample(text, "kgrec_index_items") == 17
        assert sample(text, "kgrec_artifact_info", version=version) == 1
        schema = client.get("/openapi.json").json()
        for path in ("/recommendations", "/search", "/items", "/events", "/explain", "/health"):
            assert path in schema["paths"]


def test_the_app_states_the_version_of_the_installed_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    installed = importlib.metadata.version
    assert installed("kgrec") == pyproject["project"]["version"]
    monkeypatch.setattr(
        importlib.metadata, "version", lambda name: "9.8.7" if name == "kgrec" else installed(name)
    )
    assert create_app(make_settings(tmp_path)).openapi()["info"]["version"] == "9.8.7"


def test_the_search_threads_are_set_once_at_start_up(make_client: ClientFactory) -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert threads_of_a_new_thread() == 2
        with make_client(None, device="cpu", serving={"search_threads": 1}):
            assert threads_of_a_new_thread() == 1
    finally:
        torch.set_num_threads(before)
