"""A running service follows LATEST (api/reloader.py).

While four threads send recommendation requests without pause, a version is
promoted and rolled back; every request succeeds, and each thread sees the first
version, then the second, then the first again, never a mix; a promoted version that
fails to load leaves the service serving the one it had (the four-genre shop of
tests/utils/shop.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from kgrec.api.app import create_app
from kgrec.api.engine import Engine
from kgrec.api.reloader import ArtifactWatcher
from kgrec.api.wiring import Services, pipeline_options, version_writers
from kgrec.gnn.artifacts import MANIFEST, USER_GRAPH, ArtifactSet
from kgrec.gnn.pipeline import write_artifacts
from kgrec.gnn.versions import VersionStore
from kgrec.graph import GraphStore
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder
from tests.utils.shop import shop_engine, trained_shop

pytestmark = pytest.mark.slow
SHOPPERS = ("u000", "u001", "u002", "u003")
POLL_S = 0.02


@pytest.fixture(scope="module")
def two_versions(
    _embedded_store: GraphStore, shop_settings: Settings, encoder: TextEncoder
) -> tuple[str, str]:
    """The shop trained and embedded twice: the first version promoted, the second not."""
    _, first = trained_shop(_embedded_store, shop_settings, encoder)
    second = write_artifacts(
        pipeline_options(shop_settings),
        encoder,
        writers=version_writers(shop_settings),
        promote=False,
    )
    return first.manifest.version, second.manifest.version


def _until(condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the service did not swap in time"
        time.sleep(POLL_S)


def test_requests_in_flight_during_promote_and_rollback_all_succeed(
    two_versions: tuple[str, str], shop_settings: Settings, encoder: TextEncoder
) -> None:
    first, second = two_versions
    versions = VersionStore.in_data_dir(shop_settings.data_dir)
    assert versions.latest() == first

    @contextlib.contextmanager
    def services(s: Settings) -> Iterator[Services]:
        artifacts = ArtifactSet.load(ArtifactSet.latest_path(versions.root))
        engine = shop_engine(s, artifacts, encoder, None)
        with ArtifactWatcher(engine, versions.root, POLL_S):
            yield Services(settings=s, engine=engine, store=None)

    stop = threading.Event()
    latest_seen: dict[str, str] = {}

    def hammer(client: TestClient, user: str) -> list[tuple[int, str]]:
        answers = []
        while not stop.is_set():
            r = client.get("/recommendations", params={"user_id": user, "k": 10})
            version = r.json().get("artifact_version", "") if r.status_code == 200 else ""
            answers.append((r.status_code, version))
            latest_seen[user] = version
        return answers

    def everyone_sees(version: str) -> bool:
        return all(latest_seen.get(u) == version for u in SHOPPERS)

    with (
        TestClient(create_app(shop_settings, services)) as client,
        ThreadPoolExecutor(len(SHOPPERS)) as pool,
    ):
        futures = [pool.submit(hammer, client, u) for u in SHOPPERS]
        try:
            _until(lambda: everyone_sees(first))
            versions.promote(second, "test: promote")
            _until(lambda: everyone_sees(second))
            assert versions.rollback() == first
            _until(lambda: everyone_sees(first))
        finally:
            stop.set()
        answers = {u: f.result() for u, f in zip(SHOPPERS, futures, strict=True)}
    for user, seen in answers.items():
        statuses = {status for status, _ in seen}
        assert statuses == {200}, f"{user}: {statuses}"
        order = [v for i, (_, v) in enumerate(seen) if i == 0 or v != seen[i - 1][1]]
        assert order == [first, second, first], f"{user}: {order}"


def _serving_latest(settings: Settings, encoder: TextEncoder) -> tuple[VersionStore, str, Engine]:
    """The versions, the one LATEST names, and an engine serving it (no graph)."""
    versions = VersionStore.in_data_dir(settings.data_dir)
    served = versions.latest()
    assert served is not None
    return (
        versions,
        served,
        shop_engine(settings, ArtifactSet.load(versions.root / served), encoder, None),
    )


def test_a_version_that_fails_to_load_leaves_the_service_serving(
    two_versions: tuple[str, str],
    shop_settings: Settings,
    encoder: TextEncoder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, second = two_versions
    versions, served, engine = _serving_latest(shop_settings, encoder)
    watcher = ArtifactWatcher(engine, versions.root, 3600.0)  # checked by hand
    assert watcher.check() is None, "LATEST names the version served"
    for name, damage in (("broken", USER_GRAPH), ("torn", "checkpoint.pt")):
        broken = versions.root / name
        shutil.copytree(versions.root / second, broken)
        manifest = json.loads((broken / MANIFEST).read_text())
        (broken / MANIFEST).write_text(json.dumps({**manifest, "version": name}))
        if damage == USER_GRAPH:
            (broken / damage).unlink()  # a file missing
        else:
            (broken / damage).write_bytes((broken / damage).read_bytes()[:100])  # cut short
        versions.promote(name, f"test: a version with {damage} damaged")
        with caplog.at_level(logging.ERROR, logger="kgrec.api.reloader"):
            assert watcher.check() is None
        assert engine.version == served
        assert f"could not swap to artifact version {name}" in caplog.text
    assert engine.recommend("u001", k=5).items, "still answering"
    other = second if served == first else first
    versions.promote(other, "test: a good one")
    assert watcher.check() == other and engine.version == other


def test_a_version_promoted_while_the_service_starts_is_swapped_in(
    two_versions: tuple[str, str], shop_settings: Settings, encoder: TextEncoder
) -> None:
    """The watcher starts from the version served, not from what LATEST names by then."""
    first, second = two_versions
    versions, served, engine = _serving_latest(shop_settings, encoder)
    other = second if served == first else first
    versions.promote(other, "test: promoted while the service was starting")
    watcher = ArtifactWatcher(engine, versions.root, 3600.0)  # made once the engine is up
    assert watcher.check() == other and engine.version == other
