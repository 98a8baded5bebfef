"""One interaction is one relationship, however many writers send it at once.

The embedded ArcadeDB server merges concurrent edge appends to a vertex instead
of failing one transaction: two transactions that each ``MERGE`` the same
(user, product, kind, ts) and find none both create it, and both commit. A
retried ``POST /events`` landing while its first try still writes (the same
``event_id``, so the same ``ts``) stored the event twice; and once two were
stored, every later send of that event failed with "-1 of 1 interactions name a
user or product the graph does not hold".
"""

from __future__ import annotations

import threading

import pytest

from kgrec.graph import GraphStore, InteractionRow
from tests.utils.threads import errors_in_threads

WRITERS = 8
WAIT_S = 120.0


def _stored(store: GraphStore, user: str, product: str) -> list[int]:
    """The ``ts`` of every INTERACTED relationship from ``user`` to ``product``, sorted."""
    rows = store._read(
        "MATCH (:User {id: $u})-[r:INTERACTED]->(:Product {id: $p}) RETURN r.ts AS ts",
        u=user,
        p=product,
    )
    return sorted(int(r["ts"]) for r in rows)


def _seed(store: GraphStore) -> None:
    store.delete_all()
    store.upsert_users([{"id": "u-race"}])
    store.upsert_products([{"id": "p-race", "title": "Race shoe"}])


def _event(ts: int, value: float | None = None) -> InteractionRow:
    row: InteractionRow = {"user_id": "u-race", "product_id": "p-race", "kind": "view", "ts": ts}
    if value is not None:
        row["value"] = value
    return row


def test_an_interaction_sent_by_concurrent_writers_is_stored_once(store: GraphStore) -> None:
    _seed(store)
    for ts in (1, 2, 3):
        barrier = threading.Barrier(WRITERS)

        def send(_: int, ts: int = ts, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            store.upsert_interactions([_event(ts)])

        assert errors_in_threads(send, WRITERS, WAIT_S) == []
    assert _stored(store, "u-race", "p-race") == [1, 2, 3]  # [1, 1, 2, 2, 2, 3, ...] before
    counts = store.upsert_interactions([_event(1)])
    assert (counts.created, counts.unchanged) == (0, 1)


@pytest.mark.parametrize("race_safe", [True, False])
def test_an_interaction_stored_twice_is_stored_once_when_sent_again(
    store: GraphStore, race_safe: bool
) -> None:
    """Duplicates left by an earlier kgrec are healed, not a NotFoundError (imports too)."""
    _seed(store)
    store.upsert_interactions([_event(7)])
    store._write(
        lambda tx: tx.run(
            "MATCH (u:User {id: 'u-race'}), (p:Product {id: 'p-race'}) "
            "CREATE (u)-[:INTERACTED {kind: 'view', ts: 7, weight: 1.0}]->(p)"
        ).consume()
    )
    assert _stored(store, "u-race", "p-race") == [7, 7]
    counts = store.upsert_interactions([_event(7, value=2.0)], race_safe=race_safe)
    assert (counts.created, counts.updated) == (0, 1)
    assert _stored(store, "u-race", "p-race") == [7]
    values = store._read(
        "MATCH (:User {id: 'u-race'})-[r:INTERACTED]->(:Product {id: 'p-race'}) "
        "RETURN r.value AS value"
    )
    assert values == [{"value": 2.0}]
