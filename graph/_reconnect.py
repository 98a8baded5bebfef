"""Is the graph server there, and following the embedded server across restarts.

:func:`answers` is the round trip behind :meth:`GraphStore.reachable`.
:class:`EmbeddedFollower` is what a long-lived process (``kgrec serve``) hangs on
its store (:meth:`GraphStore.follow`): before each reachability check it re-reads
``<data_dir>/server/state.json`` (a small file) and, when another server process
runs there now (``kgrec graph start`` after a crash or a stop, possibly on other
ports), re-points the store at it with the data directory's credentials, before
the old address is tried (whatever listens there now may never answer).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

import neo4j
from neo4j import exceptions as neo4j_errors

from kgrec.errors import KgrecError
from kgrec.graph._queries import PING
from kgrec.graph.embedded import EmbeddedServer

if TYPE_CHECKING:
    from kgrec.graph.store import GraphStore

log = logging.getLogger(__name__)

Follower: TypeAlias = "Callable[[GraphStore], bool]"
"""Called before a store's reachability check; True when it re-pointed the store."""


def answers(driver: neo4j.Driver, database: str) -> bool:
    """True when the server runs a transaction now.

    BEGIN, ``RETURN 1``, COMMIT, as a write begins (one try; no driver retries).
    """
    try:
        with driver.session(database=database) as session, session.begin_transaction() as tx:
            tx.run(PING).consume()
            tx.commit()
    except (neo4j_errors.Neo4jError, neo4j_errors.DriverError, OSError) as e:
        log.debug("graph server does not answer: %s", e)
        return False
    return True


class EmbeddedFollower:
    """Re-points a store at the embedded server of a data directory after it restarted.

    Args:
        server: the embedded server of the data directory to follow; the store is
            taken to talk to the server running when this is built.
    """

    def __init__(self, server: EmbeddedServer) -> None:
        self._server = server
        # the server process the store talks to: the one running now
        self._pid: int | None = self._server.status().pid
        self._lock = threading.Lock()

    def __call__(self, store: GraphStore) -> bool:
        if not self._lock.acquire(blocking=False):
            return False  # another thread is at it: its caller will see the outcome
        try:
            try:
                status = self._server.status()
            except (KgrecError, OSError) as e:
                log.warning("cannot read the embedded graph server's state: %s", e)
                return False
            if not status.running or status.uri is None or status.pid == self._pid:
                return False
            store.repoint(status.uri, self._server.auth, reader_auth=self._server.reader_auth)
            self._pid = status.pid
            log.info("following the embedded graph server (pid %s) at %s", status.pid, status.uri)
            return True
        finally:
            self._lock.release()
