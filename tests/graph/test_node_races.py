"""Writers creating one new node at once all succeed: the later ones merge into it.

Two ``POST /events`` of a new shopper sent at once (a page view and a click, or a
client's retry) each read no ``User`` node and create it; the unique index lets
one commit and refused the other: "the graph server rejected a write:
Duplicated key [...] found on index 'User[id]'", a valid event not accepted.
"""

from __future__ import annotations

import threading

from kgrec.graph import GraphStore
from tests.utils.threads import errors_in_threads

WRITERS = 8
WAIT_S = 120.0


def test_writers_creating_one_new_node_at_once_all_succeed(store: GraphStore) -> None:
    store.delete_all()
    for n in range(3):
        barrier = threading.Barrier(WRITERS)

        def write(k: int, n: int = n, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            store.upsert_users([{"id": f"u-new-{n}", "attrs": {f"a{k}": k}}])
            store.upsert_products([{"id": f"p-new-{n}", "title": "Race shoe", "brand_id": "b"}])

        assert errors_in_threads(write, WRITERS, WAIT_S) == []  # Duplicated key before
    users = store.nodes_by_id("User", [f"u-new-{n}" for n in range(3)])
    assert sorted(users) == ["u-new-0", "u-new-1", "u-new-2"]
    for props in users.values():  # every writer's merge landed
        assert {f"a{k}" for k in range(WRITERS)} <= set(props)
    assert len(store.nodes_by_id("Product", [f"p-new-{n}" for n in range(3)])) == 3
