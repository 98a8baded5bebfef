"""Online writes without HTTP: counts, concurrency, forgets and swaps (issue 18 items 3 and 4).

The restore of what the graph holds and the artifact version lacks after a
restart (item 7) is ``test_online_restore.py``.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from kgrec.api.engine import Engine
from kgrec.api.overlay import OnlineItem, Overlay, write_stamp
from kgrec.api.wiring import pipeline_options
from kgrec.api.written_online import WrittenOnline
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.gnn.checkpoint import Checkpoint
from kgrec.gnn.inductive import InductiveEmbedder
from kgrec.graph import GraphStore, InteractionRow, UpsertCounts
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder
from tests.utils.api import API_KEY, ClientFactory
from tests.utils.metrics import sample
from tests.utils.online import (
    inductive_engine,
    served_title_price,
    trail_shoe,
    version_checkpoint,
    view_event,
    written_through,
)
from tests.utils.threads import errors_in_threads

KEY = {"X-API-Key": API_KEY}
WAIT_S = 30.0


class GatedEmbedder(InductiveEmbedder):
    """The real embedder, but embedding user ``slow`` waits until ``release`` is set."""

    def __init__(self, checkpoint: Checkpoint, encoder: TextEncoder, settings: Settings) -> None:
        like = pipeline_options(settings).embedder(checkpoint, encoder)
        super().__init__(
            checkpoint,
            encoder,
            like.cache,
            device=like.device,
            seed_fanout=like.seed_fanout,
            fanout=like.fanout,
        )
        self.entered = threading.Event()
        self.release = threading.Event()

    def embed_users(self, store: GraphStore, user_ids: Sequence[str]) -> np.ndarray:
        if "slow" in user_ids:
            self._hold()
        return super().embed_users(store, user_ids)

    def embed_new_items(self, store: GraphStore, product_ids: Sequence[str]) -> np.ndarray:
        if threading.current_thread().name == "slow":  # a product write in that thread
            self._hold()
        return super().embed_new_items(store, product_ids)

    def _hold(self) -> None:
        self.entered.set()
        assert self.release.wait(WAIT_S)


@pytest.fixture
def gated_engine(
    sample_store: GraphStore,
    settings: Settings,
    sample_artifacts: ArtifactSet,
    encoder: TextEncoder,
) -> tuple[Engine, GatedEmbedder]:
    """An engine whose embedder holds the writes :class:`GatedEmbedder` gates."""
    gated = GatedEmbedder(version_checkpoint(sample_artifacts), encoder, settings)
    return inductive_engine(settings, sample_artifacts, encoder, sample_store, gated), gated


def test_reposting_a_catalogue_id_counts_it_once(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    with make_client(sample_store) as client:
        before = client.get("/health").json()
        assert before["items"] == 17 and before["indexes"]["online_items"] == 0
        for title in ("Ridge Runner trail shoe v2", "Ridge Runner trail shoe v3"):
            body = {"items": [{"id": "p001", "title": title}]}
            answer = client.post("/items", json=body, headers=KEY)
            assert answer.status_code == 201, answer.text
            assert answer.json()["items_served"] == 17
        health = client.get("/health").json()
        assert health["items"] == 17, health
        assert health["indexes"]["catalogue_items"] == 17
        assert health["indexes"]["online_items"] == 0
        assert sample(client.get("/metrics").text, "kgrec_index_items") == 17
        body = {"items": [{"id": "p-new", "title": "Brand new trail shoe"}]}
        assert client.post("/items", json=body, headers=KEY).json()["items_served"] == 18
        health = client.get("/health").json()
        assert health["items"] == 18 and health["indexes"]["online_items"] == 1


def test_a_slow_embedding_holds_up_no_other_write(
    gated_engine: tuple[Engine, GatedEmbedder],
) -> None:
    engine, gated = gated_engine
    errors: list[BaseException] = []

    def slow_write() -> None:
        try:
            engine.record_events([view_event("slow", "p001", 1)])
        except BaseException as e:  # surfaced below
            errors.append(e)

    writer = threading.Thread(target=slow_write)
    writer.start()
    try:
        assert gated.entered.wait(WAIT_S)  # the slow write is embedding now
        # other writes go through meanwhile: a product, another user's event
        assert engine.add_items([trail_shoe("p-fast", "Fast lane trail shoe")]) == ["p-fast"]
        assert engine.record_events([view_event("quick", "p-fast", 2)]).users == ["quick"]
        assert writer.is_alive()  # ... while the slow one is still embedding
    finally:
        gated.release.set()
        writer.join(WAIT_S)
    assert not errors and not writer.is_alive()
    # none of the three lost another's overlay update
    assert engine.unserved("Product", ["p-fast"]) == []
    assert engine.unserved("User", ["slow", "quick"]) == []
    assert engine.similar("p-fast", k=3).items


@pytest.mark.parametrize("path", ["events", "restore"])
def test_a_forget_landing_while_a_shopper_is_embedded_is_not_undone(
    gated_engine: tuple[Engine, GatedEmbedder], sample_store: GraphStore, path: str
) -> None:
    """A shopper deleted while their events or restore embed them stays forgotten.

    The write read (or wrote) the shopper in the graph before the forget; the
    shopper written beside them in the same call is served as usual.
    """
    engine, gated = gated_engine
    events = [view_event("slow", "p001", 1), view_event("other", "p002", 2)]
    if path == "restore":
        sample_store.upsert_users([{"id": "slow"}, {"id": "other"}])
        sample_store.upsert_interactions(events)
    done: list[object] = []
    errors: list[BaseException] = []

    def write() -> None:
        try:
            if path == "events":
                done.append(engine.record_events(events).users)
            else:
                done.append(engine.refresh_users(["slow", "other"]))
        except BaseException as e:  # surfaced below
            errors.append(e)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert gated.entered.wait(WAIT_S)  # "slow" is read from the graph, embedding now
        assert sample_store.delete_user("slow") is not None
        engine.forget_user("slow")
    finally:
        gated.release.set()
        writer.join(WAIT_S)
    assert not errors and not writer.is_alive()
    assert done == [["other", "slow"] if path == "events" else ["other"]]
    assert engine.unserved("User", ["slow", "other"]) == ["slow"]
    assert "slow" not in engine._history.online and "other" in engine._history.online
    assert not engine.recommend("slow", k=3).user_known


def test_a_forget_landing_right_after_an_events_graph_write_is_not_undone(
    engine: Engine, sample_store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The forget lands between the events' graph write and their embedding's stamp."""
    write = sample_store.upsert_interactions

    def write_then_forget(rows: Sequence[InteractionRow], **options: bool) -> UpsertCounts:
        counts = write(rows, **options)
        assert sample_store.delete_user("slow") is not None
        engine.forget_user("slow")
        return counts

    monkeypatch.setattr(sample_store, "upsert_interactions", write_then_forget)
    events = [view_event("slow", "p001", 1), view_event("other", "p002", 2)]
    assert engine.record_events(events).users == ["other", "slow"]
    assert engine.unserved("User", ["slow", "other"]) == ["slow"]
    assert "slow" not in engine._history.online and "other" in engine._history.online


@pytest.mark.parametrize("ledger", [False, True])
def test_a_swap_keeps_serving_what_waswritten_through(
    engine: Engine,
    sample_store: GraphStore,
    sample_artifacts: ArtifactSet,
    tmp_path: Path,
    ledger: bool,
) -> None:
    """New products, new shoppers and an update of a catalogue product, all as the graph holds them.

    The version swapped in was exported before these writes (here: the same one).
    With the ledger of online writes the version's own rows are carried because it
    names them as written since; without one, every online row is.
    """
    if ledger:
        engine.written_online = WrittenOnline.in_data_dir(tmp_path)
    products, users = written_through(engine)
    engine.add_items([{"id": "p013", "title": "Boom portable speaker mk2", "price": 10.0}])
    engine.swap(sample_artifacts)
    assert engine.unserved("Product", products) == []
    assert engine.unserved("User", users) == []  # a stranger after the swap before the fix
    for u in users:
        assert engine.recommend(u, k=5).user_known
    hits = [i for i in engine.search("portable speaker", k=17).items if i.id == "p013"]
    assert [(i.title, i.price) for i in hits] == [("Boom portable speaker mk2", 10.0)]
    assert engine.size == 17 + len(products)
    if ledger:  # a version whose snapshot came after the writes holds them: its rows serve
        later = dataclasses.replace(
            sample_artifacts,
            manifest=dataclasses.replace(
                sample_artifacts.manifest, snapshot_exported_at=time.time() + 3600
            ),
        )
        engine.swap(later)
        assert engine.unserved("Product", products) == []  # still lacked by it: carried
        assert served_title_price(engine, "p013")[0] == "Boom portable speaker"


def test_an_update_in_flight_during_a_swap_is_served_not_the_older_row(
    gated_engine: tuple[Engine, GatedEmbedder],
    sample_store: GraphStore,
    sample_artifacts: ArtifactSet,
) -> None:
    """The update's graph write is done and it is embedding when the version swaps."""
    engine, gated = gated_engine
    engine.add_items([trail_shoe("p-upd", "Trail shoe v1")])
    update = threading.Thread(
        name="slow", target=lambda: engine.add_items([trail_shoe("p-upd", "Trail shoe v2")])
    )
    update.start()
    try:
        assert gated.entered.wait(WAIT_S)
        engine.swap(sample_artifacts)  # carries p-upd over while the update embeds
    finally:
        gated.release.set()
        update.join(WAIT_S)
    assert not update.is_alive()
    assert sample_store.nodes_by_id("Product", ["p-upd"])["p-upd"]["title"] == "Trail shoe v2"
    overlay = engine._state.overlay
    assert overlay.items[overlay.row_of["p-upd"]].row["title"] == "Trail shoe v2"


def test_concurrent_writers_keep_each_others_updates(engine: Engine) -> None:
    def write(n: int) -> None:
        for k in range(3):
            pid = f"p-c{n}-{k}"
            engine.add_items([trail_shoe(pid, f"Concurrent shoe {n} {k}")])
            engine.record_events([view_event(f"u-c{n}", pid, 100 * n + k)])

    assert not errors_in_threads(write, 4, WAIT_S)
    products = [f"p-c{n}-{k}" for n in range(4) for k in range(3)]
    assert engine.unserved("Product", products) == []
    assert engine.unserved("User", [f"u-c{n}" for n in range(4)]) == []
    assert engine.size == 17 + len(products)


def test_a_mirrored_write_of_a_shopper_deleted_since_serves_nothing(engine: Engine) -> None:
    """An arm engine mirrors the main one's write after a forget deleted the shopper."""
    ghost = "u-deleted-since"  # the main engine wrote it; a forget deleted it since
    engine.declare_users([{"id": ghost, "attrs": {"occupation": "x"}}], write_graph=False)
    engine.record_events([view_event(ghost, "p001", 5)], write_graph=False)
    assert engine.unserved("User", [ghost]) == [ghost]
    assert engine.recommend(ghost, k=3).strategy == "popularity"


def test_a_declarations_peers_keep_their_own_order_beside_the_vectors() -> None:
    """An event's later vector keeps the peers of a declaration still in flight."""
    early, put, event, late = write_stamp(), write_stamp(), write_stamp(), write_stamp()
    row, other = sp.csr_matrix(np.ones((1, 3), np.float32)), sp.csr_matrix((1, 3))
    vector = {"u": np.ones(4, np.float32)}
    # the event's write (no peers) lands first; the declaration's, stamped before, after
    overlay = Overlay(4, 2, "cpu").with_users(vector, event).with_users(vector, put, {"u": row})
    assert overlay.user_stamps["u"] == event and overlay.peers_of("u") is row
    overlay = overlay.with_users(vector, late)  # a later event: the peers stay
    assert overlay.peers_of("u") is row
    assert overlay.with_users({}, early, {"u": other}).peers_of("u") is row  # not older ones
    assert overlay.with_users({}, late, {"u": other}).peers_of("u") is other
    assert overlay.with_users({}, late, {"u": None}).peers_of("u") is None
    assert overlay.without_user("u").user_peer_stamps == {}


def test_the_newest_update_of_an_id_wins_whatever_order_they_land_in() -> None:
    old, new = write_stamp(), write_stamp()
    vector = {"u": np.ones(4, np.float32)}
    overlay = Overlay(4, 2, "cpu").with_users(vector, new).with_users({"u": np.zeros(4)}, old)
    assert overlay.users["u"][0] == 1.0 and overlay.user_stamps["u"] == new

    def item(title: str, stamp: int) -> OnlineItem:
        return OnlineItem({"id": "p", "title": title}, np.zeros(4), np.zeros(2), stamp)

    overlay = overlay.with_items([item("newer", new)], {}).with_items([item("older", old)], {})
    assert overlay.size == 1 and overlay.items[0].row["title"] == "newer"
    assert Overlay(4, 2, "cpu").with_items([item("x", 0)], {"p": 3}).added == 0
