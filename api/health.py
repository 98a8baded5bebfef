"""GraphHealth: whether the graph answers, checked at most every interval.

The engine's graph reads and writes go through :meth:`GraphHealth.require_store`
(writes: a 503 at once when the graph does not answer) or check :meth:`GraphHealth.up`
(reads that degrade without the graph), and report a lost connection with
:meth:`GraphHealth.mark_down`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from kgrec.errors import GraphConnectionError, QueryError, ServiceUnavailableError
from kgrec.graph import GraphStore
from kgrec.graph.records import PairLinks

log = logging.getLogger(__name__)


class GraphHealth:
    """The graph store (None: artifacts only) and whether it answered when last asked.

    Args:
        store: the graph, or None.
        check_interval_s: how long a reachability check is trusted.
    """

    def __init__(self, store: GraphStore | None, *, check_interval_s: float) -> None:
        self.store = store
        self._check_interval_s = check_interval_s
        self.last_up = store is not None
        self._checked_at = 0.0

    def up(self, *, fresh: bool = False) -> bool:
        """True when a graph is configured and reachable (checked at most every interval)."""
        if self.store is None:
            return False
        now = time.monotonic()
        if fresh or now - self._checked_at >= self._check_interval_s:
            self.last_up = self.store.reachable()
            self._checked_at = now
        return self.last_up

    def mark_down(self) -> None:
        """The graph did not answer a read or write: down until the next check."""
        self.last_up = False
        self._checked_at = time.monotonic()

    def require_store(self, what: str) -> GraphStore:
        """The graph store, checked reachable now; else 503 at once (no driver retries)."""
        if self.store is None:
            raise ServiceUnavailableError(
                f"{what} need the graph, and this engine runs without one"
            )
        if not self.up(fresh=True):
            raise ServiceUnavailableError(
                f"{what} need the graph server at {self.store.uri}, which does not answer; "
                "nothing was written, retry when /health reports the graph up"
            )
        return self.store

    def pair_links(
        self, user_id: str | None, pairs: Sequence[tuple[str, str]]
    ) -> list[PairLinks] | None:
        """What the pairs share (:meth:`GraphStore.pair_links`).

        None when the graph is down or refuses the read (a reason then names no
        shared link).
        """
        if self.store is None or not self.up():
            return None
        try:
            return self.store.pair_links(user_id, pairs)
        except GraphConnectionError:
            self.mark_down()
        except QueryError as e:
            log.warning("reasons without graph links: %s", e)
        return None
