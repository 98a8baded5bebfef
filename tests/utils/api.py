"""Names the API tests share with their fixtures (tests/api/conftest.py)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
import uvicorn
from fastapi.testclient import TestClient

from kgrec.graph import GraphStore

API_KEY = "test-key-123"
"""The write key of the apps ``make_client`` builds."""

ClientFactory = Callable[..., contextlib.AbstractContextManager[TestClient]]
"""``make_client(store, **settings)``: a TestClient on an app over the sample artifacts."""


def threads_of_a_new_thread() -> int:
    """The torch thread count of a thread that starts now, as a request thread would.

    torch keeps a count per thread once it is set there; a new thread takes the
    process's count (the one the last ``torch.set_num_threads`` call set).
    """
    seen: list[int] = []
    worker = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    worker.start()
    worker.join()
    return seen[0]


@contextlib.contextmanager
def live_server(app: Any) -> Iterator[int]:
    """The app on a real uvicorn server on a free loopback port, in a thread; the port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield int(sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def link_sample_entities(store: GraphStore) -> None:
    """On the shipped sample: p001 and p002 share a director (no name), p001 has a genre."""
    store.upsert_entities(
        [{"id": "m.0abc", "kind": "person"}, {"id": "m.0def", "kind": "genre", "name": "Outdoor"}]
    )
    store.link_entities(
        [
            {"product_id": "p001", "entity_id": "m.0abc", "relation": "film.film.directed_by"},
            {"product_id": "p002", "entity_id": "m.0abc", "relation": "film.film.directed_by"},
            {"product_id": "p001", "entity_id": "m.0def", "relation": "film.film.genre"},
        ]
    )
