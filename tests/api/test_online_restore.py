"""The restore after a restart: what the graph holds and the version lacks (issue 18 item 7)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from kgrec.api.engine import Engine
from kgrec.api.restore import Restorer, restore_online
from kgrec.api.wiring import engine_options
from kgrec.api.written_online import WrittenOnline
from kgrec.errors import GraphConnectionError
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.graph import GraphStore
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder
from tests.utils.online import (
    inductive_engine,
    served_title_price,
    view_event,
    written_through,
)

WAIT_S = 30.0


def test_a_new_engine_serves_what_the_graph_holds_after_a_restore(
    engine: Engine,
    sample_store: GraphStore,
    settings: Settings,
    sample_artifacts: ArtifactSet,
    encoder: TextEncoder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    products, users = written_through(engine)
    # the service restarted: only the artifact version
    again = inductive_engine(settings, sample_artifacts, encoder, sample_store)
    assert again.unserved("Product", products) == products
    with caplog.at_level(logging.INFO, logger="kgrec.api.restore"):
        report = restore_online(again, sample_store, batch_size=2)
    assert (report.products, report.users) == (len(products), len(users))
    assert "restored 5 products and 2 users" in caplog.text
    assert again.unserved("Product", products) == [] and again.unserved("User", users) == []
    assert again.size == engine.size == 17 + len(products)
    before, after = engine._state.overlay, again._state.overlay
    for u in users:  # the vectors the events computed, the graph being the same
        np.testing.assert_allclose(after.users[u], before.users[u], atol=1e-5)
        assert again.recommend(u, k=5).user_known
    # a product's vector is the one its graph neighbourhood gives now (its later events
    # count): what the first engine computes when it embeds them again
    engine.add_items(sample_store.product_rows(products), write_graph=False)
    before = engine._state.overlay
    for p in products:
        np.testing.assert_allclose(
            after.items[after.row_of[p]].graph, before.items[before.row_of[p]].graph, atol=1e-5
        )
        np.testing.assert_array_equal(
            after.items[after.row_of[p]].text, before.items[before.row_of[p]].text
        )
        assert again.similar(p, k=5).items
    assert restore_online(again, sample_store).products == 0  # nothing left to restore


def test_a_restart_serves_the_versions_own_rows_as_written_online_since(
    sample_store: GraphStore,
    settings: Settings,
    sample_artifacts: ArtifactSet,
    encoder: TextEncoder,
    tmp_path: Path,
) -> None:
    """A catalogue product updated online and a catalogue shopper's events outlive a restart.

    Both are in the artifact version, so their ids alone do not tell the restore;
    the ledger of online writes does.
    """

    def started() -> Engine:
        ledger = WrittenOnline.in_data_dir(tmp_path)
        return inductive_engine(
            settings, sample_artifacts, encoder, sample_store, written_online=ledger
        )

    engine = started()
    assert served_title_price(engine, "p013")[0] == "Boom portable speaker"
    assert engine.unserved("Product", ["p013"]) == [] and engine.unserved("User", ["u01"]) == []
    engine.add_items([{"id": "p013", "title": "Boom portable speaker mk2", "price": 10.0}])
    engine.record_events([view_event("u01", "p002", 30)])
    again = started()  # the service restarted: the version's rows only
    before = served_title_price(engine, "p013")
    assert served_title_price(again, "p013")[0] == "Boom portable speaker"
    report = restore_online(again, sample_store)
    assert (report.products, report.users) == (1, 1)
    assert served_title_price(again, "p013") == before == ("Boom portable speaker mk2", 10.0)
    np.testing.assert_allclose(
        again._state.overlay.users["u01"], engine._state.overlay.users["u01"], atol=1e-5
    )
    # an engine without the ledger restores only what the version lacks, as before
    plain = Engine(engine_options(settings), sample_artifacts, encoder, sample_store)
    assert restore_online(plain, sample_store).products == 0


def test_the_restore_waits_for_a_graph_that_does_not_answer(
    engine: Engine,
    sample_store: GraphStore,
    settings: Settings,
    sample_artifacts: ArtifactSet,
    encoder: TextEncoder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    products, users = written_through(engine)
    again = Engine(engine_options(settings), sample_artifacts, encoder, sample_store)
    down = threading.Event()
    down.set()
    real = sample_store.iter_ids

    def iter_ids(label: str) -> Iterator[list[str]]:
        if down.is_set():
            raise GraphConnectionError("the graph server does not answer (test)")
        return real(label)

    monkeypatch.setattr(sample_store, "iter_ids", iter_ids)
    restorer = Restorer(again, sample_store, retry_s=0.1)
    try:
        with caplog.at_level(logging.WARNING, logger="kgrec.api.restore"):
            assert restorer.start() is None
        assert "serving only what artifact version" in caplog.text and restorer.pending
        assert again.unserved("Product", products) == products  # the artifacts are served
        down.clear()  # the graph answers again
        restorer._thread.join(WAIT_S)  # type: ignore[union-attr]
        assert not restorer.pending and restorer.report is not None
        assert again.unserved("Product", products) == [] and again.unserved("User", users) == []
    finally:
        restorer.close()
