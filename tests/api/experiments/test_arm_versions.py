"""Arms pinned to artifact versions, on the trained genre shop (tests/utils/shop.py).

Two versions on disk (the shop's, copied under two names, each manifest naming its
own): the control arm follows LATEST, the other arm is served by an engine pinned
to the other version. Every answer names the version that served it, and every
write (events, products, a shopper's declaration, forgetting a shopper) reaches
both engines.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kgrec.api.app import create_app
from kgrec.api.experiments.assignment import arm_of
from kgrec.api.experiments.config import read_experiments
from kgrec.api.wiring import Services, services_over
from kgrec.errors import ConfigError
from kgrec.gnn.artifacts import LATEST, MANIFEST, ArtifactSet
from kgrec.gnn.version_checksums import write_checksums
from kgrec.graph import GraphStore
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder
from kgrec.typing import USER
from tests.utils.experiments import recommend
from tests.utils.shop import Shop, load_genre_shop, shop_client

pytestmark = [pytest.mark.slow, pytest.mark.neo4j]

KEY = {"X-API-Key": "k"}  # shop_settings' api_key
EXPERIMENT = """
[[experiments]]
name = "versions"

[[experiments.arms]]
name = "latest"
share = 0.5

[[experiments.arms]]
name = "pinned"
share = 0.5
artifact_version = "{version}"
"""
NEW = [{"id": "horror-new-0", "title": "The haunted horror new", "category_ids": ["cat-horror"]}]


def _settings(
    shop_settings: Settings, tmp_path: Path, artifacts: ArtifactSet, pin: str
) -> Settings:
    """A data directory holding the shop's version as ``v-a`` (LATEST) and ``v-b``."""
    assert artifacts.path is not None
    root = tmp_path / "data" / "artifacts"
    for name in ("v-a", "v-b"):
        shutil.copytree(artifacts.path, root / name)
        manifest = json.loads((root / name / MANIFEST).read_text())
        (root / name / MANIFEST).write_text(json.dumps({**manifest, "version": name}))
        write_checksums(root / name)  # a version of its own, whole
    (root / LATEST).write_text("v-a")
    path = tmp_path / "experiments.toml"
    path.write_text(EXPERIMENT.format(version=pin))
    return shop_settings.updated(data_dir=tmp_path / "data", serving={"experiments_file": path})


def _arm(settings: Settings, user: str) -> str:
    """The arm ``user`` is assigned to."""
    assert settings.serving.experiments_file is not None
    experiment = read_experiments(settings.serving.experiments_file).active
    assert experiment is not None
    return arm_of(experiment, user).name


def _client(settings: Settings, store: GraphStore, encoder: TextEncoder) -> TestClient:
    return TestClient(create_app(settings, lambda s: services_over(s, store, encoder)))


def test_each_arm_is_served_by_its_version_and_sees_every_write(
    shop: tuple[Shop, ArtifactSet],
    shop_settings: Settings,
    encoder: TextEncoder,
    store: GraphStore,
    tmp_path: Path,
) -> None:
    described, artifacts = shop
    load_genre_shop(store)  # the trained shop again, in the emptied graph
    settings = _settings(shop_settings, tmp_path, artifacts, "v-b")
    users = sorted(described.favourite)
    in_arm = {arm: [u for u in users if _arm(settings, u) == arm] for arm in ("latest", "pinned")}
    latest, (pinned, other) = in_arm["latest"][0], in_arm["pinned"][:2]
    with _client(settings, store, encoder) as client:
        services: Services = client.app.state.services  # type: ignore[attr-defined]
        assert services.engine.version == "v-a" and set(services.arm_engines) == {"v-b"}
        for user, arm, version in ((latest, "latest", "v-a"), (pinned, "pinned", "v-b")):
            before = recommend(client, user_id=user)
            assert before["arm"]["arm"] == arm and before["artifact_version"] == version
            top = before["items"][0]["id"]
            event = {"user_id": user, "product_id": top, "kind": "purchase"}
            r = client.post("/events", json={"events": [event]}, headers=KEY)
            assert r.status_code == 201, r.text
            after = recommend(client, user_id=user)
            assert after["artifact_version"] == version
            assert top not in {i["id"] for i in after["items"]}, (arm, top)
        top_two = [i["id"] for i in recommend(client, user_id=pinned)["items"][:2]]
        searched = client.post("/search", json={"query": "horror", "user_id": pinned}).json()
        assert searched["arm"]["arm"] == "pinned" and searched["artifact_version"] == "v-b"

        assert client.post("/items", json={"items": NEW}, headers=KEY).status_code == 201
        for user, version in ((latest, "v-a"), (pinned, "v-b")):
            seen = recommend(client, user_id=user, context_item="horror-new-0")
            assert seen["artifact_version"] == version

        arm_engine = services.arm_engines["v-b"]
        now = int(time.time())  # two events arriving out of their ts order
        for product, ts in zip(top_two, (now, now - 1), strict=True):
            event = {"user_id": pinned, "product_id": product, "kind": "view", "ts": ts}
            r = client.post("/events", json={"events": [event]}, headers=KEY)
            assert r.status_code == 201, r.text
        history = arm_engine._history.rows(arm_engine._state, pinned).tolist()
        assert history[-2:] == [arm_engine._state.row(p) for p in top_two]
        body = {"attributes": {"occupation": "horror fan"}}
        assert client.put(f"/users/{pinned}", json=body, headers=KEY).status_code == 200
        for engine in (services.engine, arm_engine):  # weighed by it anew in both
            # nobody in this shop declared anything: alike to every voter, an empty
            # row (not the version's row, from its former declaration)
            row = engine._state.overlay.peers_of(pinned)
            assert row is not None and row.nnz == 0 and engine.peer_count(pinned) == 0
        assert arm_engine._history.rows(arm_engine._state, pinned).tolist() == history
        assert arm_engine.unserved(USER, [pinned]) == []
        assert client.delete(f"/users/{pinned}", headers=KEY).status_code == 200
        assert arm_engine.unserved(USER, [pinned]) == [pinned]
        assert recommend(client, user_id=pinned)["strategy"] == "popularity"

    with _client(settings, store, encoder) as client:  # a restart restores the arm engine too
        seen = recommend(client, user_id=other, context_item="horror-new-0")
        assert seen["arm"]["arm"] == "pinned" and seen["artifact_version"] == "v-b"


def test_an_unknown_version_is_named_with_the_versions_on_disk(
    shop: tuple[Shop, ArtifactSet],
    shop_settings: Settings,
    encoder: TextEncoder,
    tmp_path: Path,
) -> None:
    settings = _settings(shop_settings, tmp_path, shop[1], "v-zzz")
    with pytest.raises(ConfigError) as e, services_over(settings, None, encoder):
        pass
    message = str(e.value)
    assert settings.serving.experiments_file is not None
    for part in (
        str(settings.serving.experiments_file),
        "experiment 'versions'",
        "arm 'pinned'",
        "'v-zzz'",
        "versions on disk: v-a, v-b",
    ):
        assert part in message, (part, message)


def test_a_services_factory_without_the_pinned_engine_is_refused(
    shop: tuple[Shop, ArtifactSet],
    shop_settings: Settings,
    encoder: TextEncoder,
    store: GraphStore,
    tmp_path: Path,
) -> None:
    settings = _settings(shop_settings, tmp_path, shop[1], "v-b")
    refused = r"arm\(s\) 'pinned' \('v-b'\) pin an artifact version"
    with pytest.raises(ConfigError, match=refused), shop_client(settings, shop[1], encoder, store):
        pass
