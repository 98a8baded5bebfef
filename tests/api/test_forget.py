"""Forgetting a shopper (``DELETE /users/{id}``, ``kgrec users delete ID``).

On a shop trained and embedded for real, with the service running: afterwards no
Cypher query finds the id, no file under the data directory holds its bytes, and
the id is answered exactly as a never-seen one.

The shop's data directory is this module's own (artifacts, snapshot, checkpoints,
text cache, event-id ledger, rejects, salt); its graph is the session's embedded
server, whose files live in the session's data directory and are checked apart.
"""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kgrec.api.cli import app as cli
from kgrec.api.forget import forget_user, subject
from kgrec.api.wiring import pipeline_options, version_writers
from kgrec.errors import NotFoundError
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.gnn.pipeline import export_current, train_snapshot, write_artifacts
from kgrec.gnn.ranking.served import RANKING_DIR, load_ranking
from kgrec.gnn.snapshot import USER, Snapshot, node_text
from kgrec.graph import GraphStore, embedded_server
from kgrec.loaders import Importer, Source, validation_options
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder
from kgrec.text_encoders.cache import text_key
from tests.utils.api import API_KEY
from tests.utils.files import files_holding
from tests.utils.settings import make_settings
from tests.utils.shop import load_genre_shop, shop_client

pytestmark = [pytest.mark.neo4j, pytest.mark.slow]

SHOPPER = "shopper-7f3a9c"  # an id no file holds by chance
OTHER = "shopper-c1d2e8"  # forgotten through the CLI
NEVER_SEEN = "shopper-never-seen-5e1b"
ATTRS = {"country": "IS", "segment": "night owl"}  # their declared attributes
HEADERS = {"X-API-Key": API_KEY}


@pytest.fixture(scope="module")
def forget_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(
        tmp_path_factory.mktemp("forget"),
        gnn={"hidden_dim": 16, "epochs": 8, "batch_size": 64},
        serving={"api_key": API_KEY},
    )


@pytest.fixture(scope="module")
def shop(
    _embedded_store: GraphStore,
    forget_settings: Settings,
    encoder: TextEncoder,
    tmp_path_factory: pytest.TempPathFactory,
) -> ArtifactSet:
    """The genre shop plus the two shoppers, imported, trained and embedded.

    The import has a rejected row of the shopper's; training is `kgrec train` and
    embedding `kgrec embed`.
    """
    store = _embedded_store
    store.delete_all()
    load_genre_shop(store, users=40)
    store.upsert_users([{"id": SHOPPER, "attrs": ATTRS}, {"id": OTHER}])
    events = tmp_path_factory.mktemp("import") / "events.csv"
    lines = ["user_id,product_id,kind,ts"]
    lines += [f"{SHOPPER},horror-{n:02d},purchase,{1_000_000 + n}" for n in range(8)]
    lines += [f"{OTHER},comedy-{n:02d},purchase,{1_000_000 + n}" for n in range(8)]
    lines += [f"{SHOPPER},no-such-film,purchase,1000100"]  # rejected: unknown product
    events.write_text("\n".join(lines) + "\n")
    source = Source.from_file("interactions", events, forget_settings.loaders.import_chunk_rows)
    validation = validation_options(forget_settings.loaders)
    importer = Importer(store, validation, data_dir=forget_settings.data_dir, progress=False)
    report = importer.run([source])
    assert report.rejects_files and SHOPPER in report.rejects_files[0].read_text()
    pipeline = pipeline_options(forget_settings)
    snapshot = export_current(pipeline, store, encoder, show_progress=False)
    train_snapshot(pipeline, snapshot, show_progress=False)
    return write_artifacts(pipeline, encoder, writers=version_writers(forget_settings))


def _graph_holds(store: GraphStore, user_id: str) -> list[str]:
    """Every node and relationship whose properties mention ``user_id``."""
    nodes = store.cypher("MATCH (n) RETURN labels(n)[0] AS label, properties(n) AS p")
    rels = store.cypher("MATCH ()-[r]->() RETURN type(r) AS label, properties(r) AS p")
    return [f"{r['label']} {r['p']}" for frame in (nodes, rels) for r in frame.to_dict("records")
            if user_id in repr(r["p"])]  # fmt: skip


def _ranked(client: TestClient, user_id: str, **params: str) -> dict[str, object]:
    response = client.get("/recommendations", params={"user_id": user_id, "k": "10", **params})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    body.pop("request_id")  # a fresh id per answer
    return body


def test_a_forgotten_shopper_is_gone_everywhere_and_served_as_never_seen(
    shop: ArtifactSet,
    forget_settings: Settings,
    encoder: TextEncoder,
    _embedded_store: GraphStore,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, data_dir = _embedded_store, forget_settings.data_dir
    assert shop.path is not None and (shop.path / RANKING_DIR).is_dir(), "no ranker trained"
    needle = SHOPPER.encode()
    held = files_holding(data_dir, needle)
    for where in ("artifacts/", "snapshots/", "rejects/"):  # the test can fail
        assert any(p.startswith(where) for p in held), (where, held)
    cache_key = text_key(node_text(USER, {"id": SHOPPER, **ATTRS}))
    assert files_holding(data_dir / "text_cache", cache_key.encode()), "no cached attribute text"
    caplog.set_level(logging.INFO)

    with shop_client(forget_settings, shop, encoder, store) as client:
        events = [
            {"user_id": SHOPPER, "product_id": "horror-09", "kind": "click", "event_id": "e1"},
            {"user_id": SHOPPER, "product_id": "western-01", "kind": "view", "event_id": "e2"},
            {"user_id": "u001", "product_id": "comedy-20", "kind": "view", "event_id": "e3"},
        ]
        assert client.post("/events", json={"events": events}, headers=HEADERS).status_code == 201
        assert files_holding(data_dir / "api", needle), "the event-id ledger holds no event"
        mine, stranger = _ranked(client, SHOPPER), _ranked(client, NEVER_SEEN)
        assert mine["user_known"] and mine != stranger, "the shopper is served as a stranger"
        others = {u: _ranked(client, u) for u in ("u001", "u002", OTHER)}
        queried = _ranked(client, NEVER_SEEN, query="haunted ghost")

        response = client.delete(f"/users/{SHOPPER}", headers=HEADERS)
        assert response.status_code == 200, response.text
        done = response.json()
        assert done["graph_node"] and done["relationships"] == 10  # 8 imported + 2 sent
        assert done["serving_state"] and done["event_ids"] == 2 and done["online_ledger"] == 1
        assert done["text_cache_entries"] == 1
        assert done["files_rewritten"] and not done["files_deleted"]

        # the id is answered exactly as a never-seen one, and everyone else as before (the
        # shop has no fresh product, whose draw alone would depend on the id itself)
        assert _ranked(client, SHOPPER) == _ranked(client, NEVER_SEEN)
        assert _ranked(client, SHOPPER, query="haunted ghost") == _ranked(
            client, NEVER_SEEN, query="haunted ghost"
        )
        # the shopper's votes stop counting in peer popularity at once (the order a
        # shopper without history gets, and a feature of everyone's): the others'
        # answers may move, and a service started on the rewritten files agrees
        after = {u: _ranked(client, u) for u in others}
        after[NEVER_SEEN] = _ranked(client, NEVER_SEEN, query="haunted ghost")
        assert after[NEVER_SEEN] != queried, "the forgotten shopper's votes still count"
        explained = _ranked(client, SHOPPER, explain="true")
        assert explained == _ranked(client, NEVER_SEEN, explain="true")
        path = client.get("/explain", params={"user_id": SHOPPER, "item_id": "horror-00"})
        unknown = client.get("/explain", params={"user_id": NEVER_SEEN, "item_id": "horror-00"})
        assert path.status_code == unknown.status_code == 404
        assert path.json()["detail"] == unknown.json()["detail"].replace(NEVER_SEEN, SHOPPER)

        again = client.delete(f"/users/{SHOPPER}", headers=HEADERS)
        assert again.status_code == 404 and "no shopper with this id" in again.json()["detail"]
        assert client.delete(f"/users/{NEVER_SEEN}", headers=HEADERS).status_code == 404
        assert client.delete(f"/users/{OTHER}").status_code == 401

    # no Cypher query finds the id; no file under the data directory holds it
    assert _graph_holds(store, SHOPPER) == []
    assert store.cypher("MATCH (u:User {id: $id}) RETURN u", {"id": SHOPPER}).empty
    assert _graph_holds(store, OTHER), "the other shoppers were deleted too"
    assert files_holding(data_dir, needle) == []
    assert files_holding(data_dir, cache_key.encode()) == []
    # the embedded server's record files lost it; only its User.id index pages (until
    # ArcadeDB compacts them) and its transaction log (until it closes) may keep it
    databases = settings.data_dir / "graph" / "databases"
    kept = files_holding(databases, needle)
    assert all(p.endswith(("tidx", ".wal")) for p in kept), kept

    # the deletion is logged by a salted hash, never by the id
    digest = subject(
        SHOPPER, data_dir=forget_settings.data_dir, configured_salt=forget_settings.forget_log_salt
    )
    assert done["subject"] == digest and SHOPPER not in digest
    lines = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]
    assert any(digest in line and "forgot shopper" in line for line in lines), lines
    assert not [line for line in lines if SHOPPER in line]
    salt = data_dir / "privacy" / "salt"
    assert stat.S_IMODE(salt.stat().st_mode) == 0o600 and SHOPPER.encode() not in salt.read_bytes()

    # a service started now on the rewritten version (aligned files) agrees
    with shop_client(forget_settings, ArtifactSet.load(shop.path), encoder, store) as client:
        assert _ranked(client, SHOPPER) == _ranked(client, NEVER_SEEN)
        assert not _ranked(client, SHOPPER)["user_known"]
        # the others' rows stayed aligned across the rewritten files: the answers
        # the live service gave after the delete (u001 sent an event this service
        # has not restored, so theirs may differ)
        assert {u: _ranked(client, u) for u in ("u002", OTHER)} == {
            u: after[u] for u in ("u002", OTHER)
        }
        assert _ranked(client, NEVER_SEEN, query="haunted ghost") == after[NEVER_SEEN]
        assert _ranked(client, "u001")["user_known"]


def test_the_cli_forgets_a_shopper_and_a_second_delete_is_not_found(
    shop: ArtifactSet, forget_settings: Settings, _embedded_store: GraphStore, settings: Settings
) -> None:
    server = embedded_server(
        settings.graph, settings.data_dir
    )  # the session's graph, used as a configured server
    user, password = server.auth
    env = {
        "KGREC_DATA_DIR": str(forget_settings.data_dir),
        "KGREC_GRAPH__NEO4J_URI": _embedded_store.uri,
        "KGREC_GRAPH__NEO4J_USER": user,
        "KGREC_GRAPH__NEO4J_PASSWORD": password,
        "KGREC_GRAPH__NEO4J_DATABASE": settings.graph.embedded_database,
    }
    assert files_holding(forget_settings.data_dir, OTHER.encode())
    assert shop.path is not None
    users = ArtifactSet.load(shop.path).manifest.num_users
    result = CliRunner().invoke(cli, ["users", "delete", OTHER], env=env)
    assert result.exit_code == 0, result.output
    digest = subject(
        OTHER, data_dir=forget_settings.data_dir, configured_salt=forget_settings.forget_log_salt
    )
    assert f"forgot shopper {digest}" in result.output and OTHER not in result.output
    assert "node and 8 relationships deleted" in result.output
    assert "rewritten without them: snapshots/" in result.output
    assert files_holding(forget_settings.data_dir, OTHER.encode()) == []
    assert _graph_holds(_embedded_store, OTHER) == []
    assert ArtifactSet.load(shop.path).manifest.num_users == users - 1

    again = CliRunner().invoke(cli, ["users", "delete", OTHER], env=env)
    assert isinstance(again.exception, NotFoundError), again.output  # main(): exit 1
    assert "no shopper with this id" in str(again.exception)


def test_a_forget_landing_while_a_version_is_built_reaches_it(
    shop: ArtifactSet,
    forget_settings: Settings,
    _embedded_store: GraphStore,
    encoder: TextEncoder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The forget lands after the embed loaded its snapshot, before the version is on disk."""
    victim = "u001"
    load = Snapshot.load

    def load_then_forget(path: Path) -> Snapshot:
        snapshot = load(path)  # in memory: it holds the shopper, whatever the forget rewrites
        assert victim in snapshot.ids[USER]
        forget_user(
            victim,
            data_dir=forget_settings.data_dir,
            configured_salt=forget_settings.forget_log_salt,
            store=_embedded_store,
        )
        return snapshot

    monkeypatch.setattr(Snapshot, "load", load_then_forget)  # the class pipeline.py calls
    pipeline = pipeline_options(forget_settings)
    made = write_artifacts(pipeline, encoder, store=_embedded_store)
    assert made.path is not None
    assert victim not in set(pd.read_parquet(made.path / "users.parquet")["id"])
    assert files_holding(forget_settings.data_dir, victim.encode()) == []


def test_a_forget_landing_while_a_version_is_written_leaves_it_consistent(
    shop: ArtifactSet, forget_settings: Settings, _embedded_store: GraphStore, encoder: TextEncoder
) -> None:
    """The forget lands while the version's files are written (a temporary directory).

    It must not rewrite the half-written version (its later files would be a row
    off); the embed removes the shopper once the version is whole.
    """
    victim = "u002"

    def forget_meanwhile(version: Path) -> None:
        assert victim in set(pd.read_parquet(version / "users.parquet")["id"])
        forget_user(
            victim,
            data_dir=forget_settings.data_dir,
            configured_salt=forget_settings.forget_log_salt,
            store=_embedded_store,
        )

    pipeline = pipeline_options(forget_settings)
    made = write_artifacts(pipeline, encoder, writers=[forget_meanwhile], store=_embedded_store)
    assert made.path is not None
    loaded, ranking = ArtifactSet.load(made.path), load_ranking(made.path)
    assert victim not in set(loaded.users["id"])
    assert ranking is not None
    assert int(ranking.interactions[0].max()) < len(loaded.users)
    assert files_holding(forget_settings.data_dir, victim.encode()) == []
