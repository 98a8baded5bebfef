"""Events the service stamps (no ``ts``, no ``event_id``), refused or answered part-way.

A refused batch (4xx, 503) must have written nothing, so that the client's
retry, which the service stamps again, stores each event once; a batch whose
graph write committed is accepted (201), whatever fails after it. Every test
writes to the real embedded server; the graph "stops answering" in-process, at a
chosen statement (:class:`_GraphLost`), as a server dying at that point would.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import pytest

from kgrec.errors import GraphConnectionError
from kgrec.graph import GraphStore
from kgrec.graph import _queries as q
from kgrec.graph.cleanup import delete_products
from tests.utils.api import API_KEY, ClientFactory

KEY = {"X-API-Key": API_KEY}
PRODUCTS = ["p001", "p002", "p003", "p004", "p005"]


def _events(user: str, products: list[str]) -> list[dict[str, str]]:
    """One view per product, without ``ts`` and ``event_id``: the service stamps them."""
    return [{"user_id": user, "product_id": p, "kind": "view"} for p in products]


def _stored(store: GraphStore, user: str) -> list[str]:
    """The products of the user's stored interactions, one per interaction, sorted."""
    frame = store.cypher(
        "MATCH (:User {id: $u})-[:INTERACTED]->(p:Product) RETURN p.id AS product",
        {"u": user},
    )
    return sorted(str(p) for p in frame["product"]) if len(frame) else []


def _small_batches(store: GraphStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two rows per UNWIND batch, so five events span three batches."""
    monkeypatch.setattr(store, "options", dataclasses.replace(store.options, write_batch_size=2))


class _Tx:
    """A transaction that stops answering once :class:`_GraphLost` says the graph is lost."""

    def __init__(self, tx: Any, lost: _GraphLost) -> None:
        self._tx, self._lost = tx, lost

    def run(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self._lost.check()
        result = self._tx.run(query, *args, **kwargs)
        if query == q.UPSERT_INTERACTIONS:
            self._lost.wrote_interactions(committed=False)
        return result


class _GraphLost:
    """The graph server lost after the first interaction batch: ran, or committed.

    From then on every statement and read raises :class:`GraphConnectionError`
    (what the store raises for a lost server) until :meth:`heal`.
    """

    def __init__(
        self, store: GraphStore, monkeypatch: pytest.MonkeyPatch, *, after_commit: bool
    ) -> None:
        self.after_commit = after_commit
        self.armed, self.lost = True, False
        write, read, read_plain = store._write, store._read, store._read_plain

        def _write(work: Callable[[Any], Any]) -> Any:
            ran = [False]

            def proxied(tx: Any) -> Any:
                out = work(_Tx(tx, self))
                ran[0] = self._ran
                return out

            self._ran = False
            out = write(proxied)
            if ran[0]:
                self.wrote_interactions(committed=True)
            return out

        def reading(real: Callable[..., Any]) -> Callable[..., Any]:
            def read_checked(*args: Any, **kwargs: Any) -> Any:
                self.check()
                return real(*args, **kwargs)

            return read_checked

        self._ran = False
        monkeypatch.setattr(store, "_write", _write)
        monkeypatch.setattr(store, "_read", reading(read))
        monkeypatch.setattr(store, "_read_plain", reading(read_plain))

    def wrote_interactions(self, *, committed: bool) -> None:
        self._ran = True
        if self.armed and committed == self.after_commit:
            self.lost = True

    def check(self) -> None:
        if self.lost:
            raise GraphConnectionError("lost the graph server (test)")

    def heal(self) -> None:
        self.armed, self.lost = False, False


@pytest.mark.parametrize("after_commit", [False, True], ids=["mid-batch", "after-commit"])
def test_a_stamped_batch_is_stored_once_when_the_graph_fails_during_it(
    sample_store: GraphStore,
    make_client: ClientFactory,
    monkeypatch: pytest.MonkeyPatch,
    after_commit: bool,
) -> None:
    """The graph lost part-way through (mid-batch) or once the events committed.

    A 503 must mean nothing was written: the client's retry (stamped anew by the
    service) then stores each event once. Failed before: the first batch (or the
    whole request) was committed, the answer was 503 "events not accepted", and
    the retry stored those events a second time under the new ``ts``.
    """
    _small_batches(sample_store, monkeypatch)
    user = "u-lost-" + ("commit" if after_commit else "batch")
    events = _events(user, PRODUCTS)
    lost = _GraphLost(sample_store, monkeypatch, after_commit=after_commit)
    with make_client(sample_store) as client:
        first = client.post("/events", json={"events": events}, headers=KEY)
        lost.heal()
        assert first.status_code in (201, 503), first.text
        if first.status_code == 503:
            assert _stored(sample_store, user) == [], "a 503 wrote events"
            time.sleep(1.1)  # the retry is stamped with a later second
            again = client.post("/events", json={"events": events}, headers=KEY)
            assert again.status_code == 201, again.text
        if after_commit:  # committed: accepted, not refused
            assert first.status_code == 201, first.text
    assert _stored(sample_store, user) == sorted(PRODUCTS)


def test_a_batch_refused_for_a_product_the_graph_lost_wrote_nothing(
    sample_store: GraphStore, make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A product the service serves but the graph no longer holds, in the last batch.

    The 404 says nothing was written; the client drops that event and sends the
    rest again (stamped anew): each is stored once. Failed before: the batches
    before it were committed, and the retry stored them a second time.
    """
    _small_batches(sample_store, monkeypatch)
    assert delete_products(sample_store, ["p017"]) == 1  # by hand: still served
    events = _events("u-gone", [*PRODUCTS, "p017"])
    with make_client(sample_store) as client:
        refused = client.post("/events", json={"events": events}, headers=KEY)
        assert refused.status_code == 404, refused.text
        assert "nothing" in refused.json()["detail"] or "none" in refused.json()["detail"]
        assert _stored(sample_store, "u-gone") == [], "a refused batch wrote events"
        time.sleep(1.1)
        again = client.post("/events", json={"events": events[:-1]}, headers=KEY)
        assert again.status_code == 201, again.text
    assert _stored(sample_store, "u-gone") == sorted(PRODUCTS)
