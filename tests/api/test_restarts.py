"""An accepted write is served after any restart (issue 18 item 3).

`kgrec serve` runs as a real process on the sample graph, takes products and events
(201), is killed with SIGKILL and started again; every accepted product and every
event's user is served.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kgrec.api.cli.demo import load_sample, sample_dir
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.graph import embedded_server, open_graph
from tests.utils.api import API_KEY
from tests.utils.settings import make_settings

pytestmark = [pytest.mark.neo4j, pytest.mark.slow]
KEY = {"X-API-Key": API_KEY}
READY_S = 240.0
NEW = {
    "p-new-1": "Glacier crampon winter boot",
    "p-new-2": "Harbor espresso grinder deluxe",
    "p-new-3": "Meadow linen picnic blanket",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """`kgrec serve` in a child process on ``data_dir``, serving ``artifacts``."""

    def __init__(self, data_dir: Path, artifacts: Path, log: Path) -> None:
        self.data_dir, self.artifacts, self.log = data_dir, artifacts, log
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KGREC_")}
        env |= {
            "KGREC_DATA_DIR": str(self.data_dir),
            "KGREC_GRAPH__EMBEDDED_HEAP_MB": "512",
            "KGREC_SERVING__API_KEY": API_KEY,
            "KGREC_SERVING__API_ACCESS_LOG": "false",
        }
        cmd = [sys.executable, "-c", "from kgrec.api.cli import main; main()", "serve"]
        cmd += ["--port", str(self.port), "--artifacts", str(self.artifacts)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + READY_S
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"kgrec serve exited: {self.log.read_text()[-3000:]}"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=2.0).status_code == 200:
                    return
            time.sleep(0.5)
        raise AssertionError(f"kgrec serve did not answer: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", json=body, headers=KEY, timeout=60.0)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", params=params, timeout=60.0)


@pytest.fixture
def graph_dir(tmp_path: Path) -> Iterator[Path]:
    """A private data directory whose graph (`kgrec graph start`) holds the sample."""
    settings = make_settings(tmp_path / "data")
    server = embedded_server(settings.graph, settings.data_dir)
    server.start(detach=True)
    with open_graph(settings.graph, settings.data_dir) as store:
        load_sample(store, sample_dir(), settings)
    yield settings.data_dir
    server.stop()


@pytest.fixture
def service(graph_dir: Path, sample_artifacts: ArtifactSet, tmp_path: Path) -> Iterator[Service]:
    assert sample_artifacts.path is not None
    service = Service(graph_dir, sample_artifacts.path, tmp_path / "serve.log")
    yield service
    service.kill()


def _ids(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


def test_every_accepted_write_is_served_after_a_kill_9(service: Service) -> None:
    service.start()
    items = [
        {"id": pid, "title": title, "brand_id": "stride", "category_ids": ["trail-shoes"]}
        for pid, title in NEW.items()
    ]
    accepted = service.post("/items", {"items": items})
    assert accepted.status_code == 201, accepted.text
    again = service.post("/items", {"items": [{"id": "p001", "title": "Ridge Runner trail shoe"}]})
    assert again.status_code == 201, again.text  # a catalogue product re-sent
    events: list[dict[str, Any]] = [
        {"user_id": "u-new-1", "product_id": "p-new-1", "kind": "view", "ts": 100},
        {"user_id": "u-new-1", "product_id": "p-new-2", "kind": "purchase", "ts": 101},
        {"user_id": "u-new-2", "product_id": "p001", "kind": "view", "ts": 102},
        {"user_id": "u01", "product_id": "p-new-3", "kind": "view", "ts": 103},
    ]
    for event in events:
        answer = service.post("/events", {"events": [event]})
        assert answer.status_code == 201, answer.text
    users = sorted({e["user_id"] for e in events})
    assert all(service.get("/recommendations", user_id=u).json()["user_known"] for u in users)
    items_served = service.get("/health").json()["items"]
    assert items_served == 17 + len(NEW)

    service.kill()
    service.start()

    health = service.get("/health").json()
    assert health["status"] == "ok" and health["items"] == items_served, health
    for pid, title in NEW.items():
        assert service.get(f"/items/{pid}/similar").status_code == 200
        assert pid in _ids(service.post("/search", {"query": title, "k": 20}))
        event = {"user_id": "u-after", "product_id": pid, "kind": "view", "ts": 200}
        answer = service.post("/events", {"events": [event]})
        assert answer.status_code == 201, answer.text
    for user in users:
        answer = service.get("/recommendations", user_id=user)
        assert answer.status_code == 200 and answer.json()["user_known"], (user, answer.text)
    # what a shopper did online is still never recommended back to them
    again_ranked = _ids(service.get("/recommendations", user_id="u-new-1", k=20))
    assert not {"p-new-1", "p-new-2"} & set(again_ranked), again_ranked
    # 3 new products and 2 new shoppers before the first answer; then, in the background,
    # p001 and u01: the version's own, written online since its snapshot (the ledger of
    # online writes names them)
    assert "restored 3 products and 2 users added online" in service.log.read_text()
    deadline = time.monotonic() + 60
    stale = "restored 1 products and 1 users of the version written online since its snapshot"
    while stale not in service.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stale in service.log.read_text()
