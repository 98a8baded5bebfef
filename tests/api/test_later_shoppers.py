"""Shoppers the training snapshot lacks are served as `kgrec evaluate` measures cold shoppers.

A shopper in the graph but not in the training snapshot (a nightly embed picks
them up) has no history in the version. The order a shopper without history is
served is peer popularity: what the shoppers alike in what they declared chose.
A shopper that declares its attributes to the service after the embed
(``PUT /users/{id}``) is weighed the same way at once. On the genre shop
(tests/utils/shop.py) every shopper declares its taste.
"""

from __future__ import annotations

import time
from typing import cast

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kgrec.api.engine import Engine
from kgrec.api.restore import restore_online
from kgrec.api.wiring import pipeline_options, version_writers
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.gnn.pipeline import export_current, train_snapshot, write_artifacts
from kgrec.gnn.ranking.peer_popularity import load_peer_voters, load_peer_weights
from kgrec.gnn.ranking.served import PEER_FILE, PEER_VOTERS_FILE, RANKING_DIR
from kgrec.graph import GraphStore, InteractionRow
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder
from tests.utils.shop import Shop, load_genre_shop, shop_client, shop_engine

pytestmark = [pytest.mark.slow, pytest.mark.neo4j]
KEY = {"X-API-Key": "k"}  # shop_settings' write key


@pytest.fixture(scope="module")
def declared_shop(
    _embedded_store: GraphStore, shop_settings: Settings, encoder: TextEncoder
) -> tuple[Shop, ArtifactSet]:
    """The genre shop, trained, then a horror fan "late" added before `kgrec embed`."""
    store = _embedded_store
    store.delete_all()
    shop = load_genre_shop(store, declared=True)
    options = pipeline_options(shop_settings)
    snapshot = export_current(options, store, encoder, show_progress=False)
    train_snapshot(options, snapshot, show_progress=False)
    store.upsert_users([{"id": "late", "attrs": {"occupation": "horror fan"}}])
    artifacts = write_artifacts(
        options, encoder, writers=version_writers(shop_settings), store=store
    )
    return shop, artifacts


def genre_share(engine: Engine, shop: Shop, shopper: str, genre: str = "horror") -> float:
    """The share of ``genre`` titles in ``shopper``'s top 10 (the learned ranking's)."""
    answer = engine.recommend(shopper, k=10)
    assert answer.ranking == "learned"
    return float(np.mean([shop.genre_of[i.id] == genre for i in answer.items]))


def warm_ids(engine: Engine, shopper: str) -> list[str]:
    """``shopper``'s top 20 without the fresh slots (their draw is the shopper's own)."""
    return [i.id for i in engine.recommend(shopper, k=20).items if i.score.ranker is not None]


def test_a_shopper_added_after_training_is_served_its_peers_choices(
    declared_shop: tuple[Shop, ArtifactSet],
    _embedded_store: GraphStore,
    shop_settings: Settings,
    encoder: TextEncoder,
) -> None:
    shop, artifacts = declared_shop
    assert artifacts.path is not None
    users = artifacts.users["id"].astype(str).tolist()
    row = users.index("late")
    assert row == len(shop.favourite)  # after the snapshot's shoppers
    peers = load_peer_weights(artifacts.path / RANKING_DIR / PEER_FILE)
    assert peers.shape == (row + 1, row + 1)
    weight = peers[row].toarray()[0]  # weighed like the others: its alike ones the most
    fans = [users.index(u) for u in shop.fans("horror")]
    others = [u for u in range(row) if u not in fans]
    assert weight[fans].min() > weight[others].max() and weight[row] == 0
    # the voters a newcomer is weighed against: the snapshot's shoppers
    voters = load_peer_voters(artifacts.path / RANKING_DIR / PEER_VOTERS_FILE)
    assert voters.shape == (row, encoder.dim)
    engine = shop_engine(shop_settings, artifacts, encoder, None)

    # peer popularity orders a shopper without history: its peers' genre first; a
    # stranger hears every voter alike (as "late" did before): the genres spread
    late, stranger = genre_share(engine, shop, "late"), genre_share(engine, shop, "stranger")
    assert late >= 0.6 and late >= stranger + 0.3, (late, stranger)


def test_a_shopper_declaring_its_attributes_online_is_served_its_peers_choices(
    declared_shop: tuple[Shop, ArtifactSet],
    _embedded_store: GraphStore,
    shop_settings: Settings,
    encoder: TextEncoder,
) -> None:
    """PUT /users/{id}: a new shopper's list is its peers' at once, and after a restart."""
    shop, artifacts = declared_shop
    store = _embedded_store
    with shop_client(shop_settings, artifacts, encoder, store) as client:
        engine = cast(FastAPI, client.app).state.services.engine
        before = genre_share(engine, shop, "web-fan")  # a stranger to the service
        answer = client.put(
            "/users/web-fan", json={"attributes": {"occupation": "horror fan"}}, headers=KEY
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["created"] and body["peers"] > 0, body
        assert body["artifact_version"] == artifacts.manifest.version
        after = genre_share(engine, shop, "web-fan")
        assert after >= 0.6 and after >= before + 0.3, (before, after)
        # what `kgrec embed` gives "late", who declared the same: the same order
        assert warm_ids(engine, "web-fan") == warm_ids(engine, "late")
        explained = client.get(
            "/recommendations", params={"user_id": "web-fan", "k": 10, "explain": "true"}
        )
        sentences = {i["reason"]["sentence"] for i in explained.json()["items"]}
        assert "Popular with shoppers like you" in sentences, sentences

        # PUT replaces: declaring another taste moves the list there
        again = client.put(
            "/users/web-fan", json={"attributes": {"occupation": "western fan"}}, headers=KEY
        )
        assert again.status_code == 200 and not again.json()["created"]
        western = genre_share(engine, shop, "web-fan", "western")
        assert western >= 0.6, western
        assert store.nodes_by_id("User", ["web-fan"])["web-fan"]["occupation"] == "western fan"
        served = warm_ids(engine, "web-fan")

    # a restart serves the artifact version, then restores the shopper from the graph
    restarted = shop_engine(shop_settings, artifacts, encoder, store)
    assert genre_share(restarted, shop, "web-fan") == pytest.approx(before)
    restore_online(restarted, store)
    assert restarted.peer_count("web-fan") > 0
    assert warm_ids(restarted, "web-fan") == served

    # forgotten: the newcomer's peers go with it; a forgotten voter is nobody's peer
    assert restarted.forget_user("web-fan") and restarted.peer_count("web-fan") == 0
    voter = shop.fans("horror")[0]
    row = artifacts.users["id"].astype(str).tolist().index(voter)
    assert restarted.forget_user(voter)
    ranking = restarted._state.catalogue.ranking
    assert ranking is not None and ranking.stored.peer_voters is not None
    assert float(ranking.stored.peer_voters[row].abs().sum()) == 0.0


def test_a_shopper_the_version_holds_declaring_anew_is_weighed_by_it_at_once(
    declared_shop: tuple[Shop, ArtifactSet],
    _embedded_store: GraphStore,
    shop_settings: Settings,
    encoder: TextEncoder,
) -> None:
    """PUT /users/{id} for shoppers `kgrec embed` weighed: their new peers, not the version's."""
    shop, artifacts = declared_shop
    store = _embedded_store
    users = artifacts.users["id"].astype(str).tolist()
    voter = shop.fans("horror")[0]  # in the training snapshot: a voter itself
    westerns = {users.index(u) for u in shop.fans("western")}

    def declare(client: TestClient, shopper: str, taste: str) -> None:
        answer = client.put(
            f"/users/{shopper}", json={"attributes": {"occupation": f"{taste} fan"}}, headers=KEY
        )
        assert answer.status_code == 200 and not answer.json()["created"], answer.text

    def peers(engine: Engine, shopper: str) -> set[int] | None:
        row = engine._state.overlay.peers_of(shopper)
        return None if row is None else set(row.indices.tolist())

    with shop_client(shop_settings, artifacts, encoder, store) as client:
        engine = cast(FastAPI, client.app).state.services.engine
        assert genre_share(engine, shop, "late") >= 0.6
        declare(client, "late", "western")  # added by `kgrec embed`, no history
        western = genre_share(engine, shop, "late", "western")
        assert western >= 0.6, western
        declare(client, voter, "western")
        mine = peers(engine, voter)
        assert mine is not None and users.index(voter) not in mine
        assert mine & westerns and engine.peer_count(voter) == len(mine)
        # an event changes no declaration: the new peers stay
        event = {"user_id": voter, "product_id": "western-00", "kind": "view"}
        assert client.post("/events", json={"events": [event]}, headers=KEY).status_code == 201
        assert peers(engine, voter) == mine
        served = warm_ids(engine, "late"), warm_ids(engine, voter)

    # after a restart, the restore serves them as declared (the ledger names them)
    restarted = shop_engine(shop_settings, artifacts, encoder, store)
    assert peers(restarted, voter) is None
    restore_online(restarted, store)
    assert peers(restarted, voter) == mine
    assert (warm_ids(restarted, "late"), warm_ids(restarted, voter)) == served

    # declaring what the version holds again: the version's own row, nothing online
    with shop_client(shop_settings, artifacts, encoder, store) as client:
        engine = cast(FastAPI, client.app).state.services.engine
        declare(client, voter, "horror")
        declare(client, "late", "horror")
        assert peers(engine, voter) is None
        assert genre_share(engine, shop, "late") >= 0.6


def test_a_restart_serves_a_shopper_of_the_version_its_history_as_it_was(
    declared_shop: tuple[Shop, ArtifactSet],
    _embedded_store: GraphStore,
    shop_settings: Settings,
    encoder: TextEncoder,
) -> None:
    """Events since the version: the same history, in the same order, after a restore.

    The recency-weighted generators read the order; a restore that appended the
    shopper's whole graph history again would put the version's products last.
    """
    shop, artifacts = declared_shop
    store = _embedded_store
    shopper = shop.fans("comedy")[1]
    had = sorted(shop.history[shopper])
    new = sorted(p for p in shop.genre_of if shop.genre_of[p] == "comedy" and p not in had)
    now = int(time.time())
    engine = shop_engine(shop_settings, artifacts, encoder, store)
    before = engine._history.rows(engine._state, shopper).tolist()
    events: list[InteractionRow] = [
        {"user_id": shopper, "product_id": new[0], "kind": "view", "ts": 5},  # a backfill
        {"user_id": shopper, "product_id": had[0], "kind": "view", "ts": now},  # seen again
        {"user_id": shopper, "product_id": new[1], "kind": "view", "ts": now + 1},
    ]
    engine.record_events(events, write_graph=True)
    rows = engine._history.rows(engine._state, shopper).tolist()
    assert rows == before + [engine._state.row(e["product_id"]) for e in events]
    served = warm_ids(engine, shopper)

    restarted = shop_engine(shop_settings, artifacts, encoder, store)
    assert restarted._history.rows(restarted._state, shopper).tolist() == before
    restore_online(restarted, store)
    assert restarted._history.rows(restarted._state, shopper).tolist() == rows
    assert warm_ids(restarted, shopper) == served
