"""The service and its embedded graph server (issue 18 items 5 and 6).

A stopped graph is reported as down and its writes answer 503 with Retry-After; a
graph restarted under a running service (on its old ports, or on others) is
followed, without restarting the service.
"""

from __future__ import annotations

import functools
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import neo4j
import pytest
from fastapi.testclient import TestClient

from kgrec.api.app import create_app
from kgrec.api.wiring import default_services
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.graph import EmbeddedServer, GraphStore, embedded_server, store_options
from kgrec.settings import Settings
from tests.utils.api import API_KEY, ClientFactory
from tests.utils.settings import make_settings

pytestmark = pytest.mark.neo4j
KEY = {"X-API-Key": API_KEY}
FOLLOW_WAIT_S = 20.0


@pytest.fixture
def graph_settings(tmp_path: Path) -> Settings:
    """Settings on a private data directory."""
    return make_settings(tmp_path / "data", serving={"api_key": API_KEY})


@pytest.fixture
def graph(graph_settings: Settings) -> Iterator[EmbeddedServer]:
    """A private embedded server, started as `kgrec graph start` does (detached)."""
    server = embedded_server(graph_settings.graph, graph_settings.data_dir)
    server.start(detach=True)
    yield server
    server.stop()


@pytest.fixture
def service(
    graph: EmbeddedServer, graph_settings: Settings, sample_artifacts: ArtifactSet
) -> Iterator[TestClient]:
    """`kgrec serve` on the private server's data directory (the default wiring)."""
    assert sample_artifacts.path is not None
    services = functools.partial(default_services, artifacts_dir=sample_artifacts.path)
    with TestClient(create_app(graph_settings, services)) as client:
        yield client


def _add(client: TestClient, product_id: str) -> int:
    body = {"items": [{"id": product_id, "title": f"Product {product_id}"}]}
    return client.post("/items", json=body, headers=KEY).status_code


def _refused(client: TestClient, product_id: str) -> None:
    """The write answers 503 at once, asking to retry after the graph check interval."""
    body = {"items": [{"id": product_id, "title": "refused"}]}
    answer = client.post("/items", json=body, headers=KEY)
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "2"  # graph_check_interval_s 2.0
    health = client.get("/health").json()
    assert health["status"] == "degraded" and health["graph"] == "down", health


def _written_again(client: TestClient, product_id: str) -> None:
    """Writes succeed again within a bounded wait, the service not restarted."""
    deadline = time.monotonic() + FOLLOW_WAIT_S
    while (status := _add(client, product_id)) != 201:
        assert status == 503, status
        assert time.monotonic() < deadline, "the service did not follow the restarted graph"
        time.sleep(0.5)
    assert client.get("/health").json()["status"] == "ok"


def _wait_stopped(graph: EmbeddedServer) -> None:
    deadline = time.monotonic() + 10
    while graph.status().running:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def _pid_gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"  # a zombie awaiting its parent


def test_a_graph_stopped_under_the_service_is_down_and_followed_back(
    graph: EmbeddedServer, service: TestClient
) -> None:
    before = graph.status()
    assert before.pid is not None
    assert _add(service, "p-before") == 201
    assert graph.stop(timeout_s=30)  # `kgrec graph stop` with the service connected
    assert _pid_gone(before.pid) and not graph.status().running
    _refused(service, "p-during")  # health reports what writes meet: down, 503
    after = graph.start(detach=True)  # `kgrec graph start`
    assert after.bolt_port == before.bolt_port  # back where it was
    _written_again(service, "p-after")


def test_the_service_follows_a_killed_graph_restarted_on_another_port(
    graph: EmbeddedServer, service: TestClient
) -> None:
    before = graph.status()
    assert before.pid is not None and before.bolt_port is not None
    assert _add(service, "p-before") == 201
    os.kill(before.pid, signal.SIGKILL)
    _wait_stopped(graph)
    _refused(service, "p-during")
    with socket.socket() as busy:  # another program took the old Bolt port meanwhile
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        busy.bind(("127.0.0.1", before.bolt_port))
        busy.listen()
        after = graph.start(detach=True)
        assert after.bolt_port != before.bolt_port
        _written_again(service, "p-after")
    assert _add(service, "p-later") == 201
    health = service.get("/health").json()
    assert health["graph"] == "up"


def test_every_503_carries_retry_after(settings: Settings, make_client: ClientFactory) -> None:
    uri = "bolt://127.0.0.1:9"  # no graph server listens there
    dead = GraphStore(
        neo4j.GraphDatabase.driver(uri, auth=("neo4j", "x")),
        "kgrec",
        uri,
        store_options(settings.graph),
    )
    event = {"user_id": "u03", "product_id": "p001", "kind": "view"}
    try:
        with make_client(dead, serving={"graph_check_interval_s": 7.5}) as client:
            for answer in (
                client.post("/events", json={"events": [event]}, headers=KEY),
                client.post("/items", json={"items": [{"id": "p9", "title": "x"}]}, headers=KEY),
                client.get("/explain", params={"user_id": "u03", "item_id": "p001"}),
            ):
                assert answer.status_code == 503, answer.text
                assert answer.headers["Retry-After"] == "8"  # the interval, rounded up
        with make_client(dead, serving={"graph_check_interval_s": 0}) as client:
            answer = client.post("/events", json={"events": [event]}, headers=KEY)
            assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    finally:
        dead.close()
