"""Calls to the real service, as ``kgrec demo`` makes them.

:func:`serving` runs the service and :func:`run_demo_calls` calls each endpoint
once, printed as curl and JSON.

Runs the real app (:func:`kgrec.api.app.create_app` with the default services: the
configured graph and the latest artifacts) on uvicorn in a background thread on
a free loopback port, sends one request per endpoint with httpx and prints each
as a curl command line followed by the answer.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import typer
from pydantic import SecretStr

from kgrec.errors import KgrecError
from kgrec.gnn.artifacts import LATEST
from kgrec.settings import Settings

if TYPE_CHECKING:
    import httpx

_DEMO_KEY = "demo-key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _show(
    method: str, url: str, body: Any, answer: httpx.Response, echo: Callable[[str], None]
) -> None:
    data = f" -H 'content-type: application/json' -d '{json.dumps(body)}'" if body else ""
    key = (
        f" -H 'X-API-Key: {_DEMO_KEY}'"
        if method == "POST" and url.endswith(("/items", "/events"))
        else ""
    )
    echo(f"\n$ curl -X {method} '{url}'{key}{data}")
    text = answer.text
    if answer.headers.get("content-type", "").startswith("application/json"):
        text = json.dumps(answer.json(), indent=2)[:1500]
    echo(f"HTTP {answer.status_code}\n{text[:1500]}")


@contextlib.contextmanager
def serving(settings: Settings, api_key: str = _DEMO_KEY) -> Iterator[httpx.Client]:
    """Run the real app on uvicorn in a background thread on a free loopback port.

    Yields an httpx client of it (sending ``api_key``); the server stops on exit.

    Raises:
        KgrecError: the service did not start within two minutes.
    """
    import httpx
    import uvicorn

    from kgrec.api.app import create_app

    port = _free_port()
    settings = settings.updated(
        serving={"api_host": "127.0.0.1", "api_port": port, "api_key": SecretStr(api_key)}
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="kgrec-demo-serve", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise KgrecError("the demo service did not start; see the log above")
            time.sleep(0.2)
        with httpx.Client(base_url=base, timeout=120.0, headers={"X-API-Key": api_key}) as c:
            yield c
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def run_demo_calls(settings: Settings, echo: Callable[[str], None] = typer.echo) -> None:
    """Start the service, call every endpoint once, print requests and answers, stop it.

    Skips (with a message) when no artifact version exists yet (``kgrec embed``).
    """
    from kgrec.api.wiring import artifacts_root

    if not (artifacts_root(settings) / LATEST).exists():
        echo(
            f"\n(serve step skipped: no artifacts under {artifacts_root(settings)}; "
            "run `kgrec embed`)"
        )
        return
    with serving(settings) as c:
        echo(f"\n== kgrec serve on {c.base_url} (each endpoint once)")
        first = c.get("/recommendations", params={"k": 3}).json()["items"][0]["id"]
        calls: list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]] = [
            ("GET", "/health", None, None),
            (
                "GET",
                "/recommendations",
                {"user_id": "demo-visitor", "k": 3, "context_item": first},
                None,
            ),
            ("POST", "/search", None, {"query": "waterproof trail running shoes", "k": 3}),
            ("GET", f"/items/{first}/similar", {"k": 3}, None),
            (
                "POST",
                "/items",
                None,
                {
                    "items": [
                        {
                            "id": "demo-new-1",
                            "title": "Trail gaiters",
                            "description": "Waterproof gaiters for muddy trail runs",
                            "price": 25.0,
                            "category_ids": ["trail-shoes"],
                        }
                    ]
                },
            ),
            (
                "POST",
                "/events",
                None,
                {"events": [{"user_id": "demo-visitor", "product_id": first, "kind": "purchase"}]},
            ),
            ("GET", "/recommendations", {"user_id": "demo-visitor", "k": 3}, None),
            ("GET", "/explain", {"user_id": "demo-visitor", "item_id": first}, None),
            ("GET", "/metrics", None, None),
        ]
        for method, path, params, body in calls:
            answer = c.request(method, path, params=params, json=body)
            _show(method, str(answer.request.url), body, answer, echo)
