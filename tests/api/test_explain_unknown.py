"""``GET /explain`` for a shopper the service does not know: a 404 that says what to do."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

from fastapi.testclient import TestClient

from kgrec.api.app import create_app
from kgrec.api.engine import Engine
from kgrec.api.wiring import Services
from kgrec.errors import NotFoundError
from kgrec.settings import Settings
from kgrec.typing import USER


class _Engine:
    """Just what GET /explain asks of the engine: one product p1, one shopper u1.

    And the catalogue's size, which the app reads at start-up (its BLAS threads).
    """

    def __init__(self, path: list[dict[str, Any]] | None) -> None:
        self.path = path

    def index_info(self) -> dict[str, Any]:
        return {"catalogue_items": 1}

    def require_item(self, product_id: str, field: str) -> None:
        if product_id != "p1":
            raise NotFoundError(f"{field}: product {product_id!r} not found")

    def explain(self, user_id: str, item_id: str) -> list[dict[str, Any]] | None:
        return self.path if user_id == "u1" else None

    def unserved(self, label: str, ids: Sequence[str]) -> list[str]:
        assert label == USER
        return [i for i in ids if i != "u1"]


@contextlib.contextmanager
def _client(tmp_path: Path, path: list[dict[str, Any]] | None) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path)

    @contextlib.contextmanager
    def services(s: Settings) -> Iterator[Services]:
        yield Services(settings=s, engine=cast(Engine, _Engine(path)), store=None)

    with TestClient(create_app(settings, services)) as client:
        yield client


def test_an_unknown_shopper_is_a_404_that_says_what_to_do(tmp_path: Path) -> None:
    with _client(tmp_path, None) as client:
        answer = client.get("/explain", params={"user_id": "nobody", "item_id": "p1"})
    assert answer.status_code == 404, answer.text
    detail = answer.json()["detail"]
    assert detail.startswith("user_id: shopper 'nobody' is unknown"), detail
    assert "POST /events" in detail and "GET /recommendations" in detail


def test_a_known_shopper_gets_the_path_or_null(tmp_path: Path) -> None:
    path = [{"label": "User", "id": "u1"}, {"type": "INTERACTED"}, {"label": "Product", "id": "p1"}]
    with _client(tmp_path, path) as client:
        found = client.get("/explain", params={"user_id": "u1", "item_id": "p1"})
    assert found.status_code == 200 and found.json()["path"] == path
    with _client(tmp_path, None) as client:
        none = client.get("/explain", params={"user_id": "u1", "item_id": "p1"})
    assert none.status_code == 200 and none.json()["path"] is None


def test_an_unknown_product_is_named_first(tmp_path: Path) -> None:
    with _client(tmp_path, None) as client:
        answer = client.get("/explain", params={"user_id": "nobody", "item_id": "p9"})
    assert answer.status_code == 404 and answer.json()["detail"].startswith("item_id: product")
