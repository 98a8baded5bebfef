"""EventIds: the ledger that makes ``POST /events`` with an ``event_id`` idempotent.

The graph identifies an interaction by (user, product, kind, ts), so re-sending
an event is a no-op only when it carries the same ``ts``. An event sent without
one gets the time of receipt, which differs on a retry. The ledger remembers, for
each ``event_id``, the event it named and the ``ts`` it was given the first time
(``<data_dir>/api/event-ids.sqlite3``, kept :data:`RETENTION_S`), so a retry is
written with that same ``ts``: the graph's MERGE then changes nothing.

An id is recorded before the graph write. A write that then fails (503) leaves the
id recorded with its ``ts``, and the retry writes the same interaction: nothing is
lost and nothing is doubled. SQLite serialises writers (``BEGIN IMMEDIATE``), so
processes sharing one data directory agree on every id.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from kgrec.errors import ServiceUnavailableError
from kgrec.paths import DataDir

RETENTION_S: Final = 24 * 3600
_PRUNE_EVERY_S: Final = 60.0
_CHUNK: Final = 500  # ids per IN (...) query, under SQLite's variable limit
_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS event_ids ("
    "event_id TEXT PRIMARY KEY, event TEXT NOT NULL, ts INTEGER NOT NULL, seen INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS event_ids_seen ON event_ids (seen)",
)


@dataclass(frozen=True)
class KeyedEvent:
    """An event that carries an ``event_id``; ``event`` is what it must match on a repeat."""

    index: int
    event_id: str
    event: tuple[str, str, str, float | None]
    ts: int | None


@dataclass
class Resolution:
    """What the ledger says about a batch of keyed events.

    The ``ts`` of each keyed event (by index), how many were stored before, and the
    events whose id was stored for a different event (index, message).
    """

    ts: dict[int, int] = field(default_factory=dict)
    repeated: int = 0
    conflicts: list[tuple[int, str]] = field(default_factory=list)


class EventIds:
    """The event-id ledger of one data directory (opened on first use).

    Args:
        path: the SQLite file.
        retention_s: how long an id is remembered after its first use.
    """

    def __init__(self, path: Path, retention_s: int = RETENTION_S) -> None:
        self.path = path
        self.retention_s = retention_s
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._pruned_at = 0.0

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> EventIds:
        """The ledger of a kgrec data directory: ``<data_dir>/api/event-ids.sqlite3``."""
        return cls(DataDir(data_dir).event_ids)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(
                    self.path, timeout=30, isolation_level=None, check_same_thread=False
                )
                for statement in _SCHEMA:
                    conn.execute(statement)
            except (OSError, sqlite3.Error) as e:
                raise ServiceUnavailableError(
                    f"events with an event_id not accepted: the event-id ledger {self.path} "
                    f"cannot be opened ({e}); nothing was written"
                ) from e
            self._conn = conn
        return self._conn

    def resolve(self, events: Sequence[KeyedEvent], now: int) -> Resolution:
        """Record the ids not seen before and give every keyed event its ``ts``.

        A new id is stored with its event's ``ts`` (``now`` when it has none); every
        keyed event gets the ``ts`` to write it with.

        Nothing is recorded when an id was stored for a different event, or when a
        repeat carries a ``ts`` other than the stored one: those are the conflicts.

        Raises:
            ServiceUnavailableError: the ledger file cannot be opened or written.
        """
        out = Resolution()
        if not events:
            return out
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    stored = self._stored(conn, [e.event_id for e in events])
                    new: list[tuple[str, str, int, int]] = []
                    for e in events:
                        fingerprint = json.dumps(e.event)
                        if e.event_id in stored:
                            event, ts = stored[e.event_id]
                            if event != fingerprint or (e.ts is not None and e.ts != ts):
                                out.conflicts.append((e.index, _conflict(e, event, ts)))
                                continue
                            out.repeated += 1
                        else:
                            ts = e.ts if e.ts is not None else now
                            new.append((e.event_id, fingerprint, ts, now))
                        out.ts[e.index] = ts
                    if out.conflicts:
                        conn.execute("ROLLBACK")
                        return out
                    conn.executemany("INSERT INTO event_ids VALUES (?, ?, ?, ?)", new)
                    self._prune(conn, now)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as e:
                raise ServiceUnavailableError(
                    f"events not accepted: the event-id ledger {self.path} failed ({e}); "
                    "nothing was written, retry later"
                ) from e
        return out

    @staticmethod
    def _stored(conn: sqlite3.Connection, ids: list[str]) -> dict[str, tuple[str, int]]:
        found: dict[str, tuple[str, int]] = {}
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT event_id, event, ts FROM event_ids WHERE event_id IN ({marks})", chunk
            )
            found.update((r[0], (r[1], int(r[2]))) for r in rows)
        return found

    def _prune(self, conn: sqlite3.Connection, now: int) -> None:
        """Forget the ids older than the retention (at most once a minute)."""
        if time.monotonic() - self._pruned_at < _PRUNE_EVERY_S:
            return
        conn.execute("DELETE FROM event_ids WHERE seen < ?", (now - self.retention_s,))
        self._pruned_at = time.monotonic()

    def forget_user(self, user_id: str) -> int:
        """Remove every id recorded for an event of ``user_id``; how many.

        The freed bytes are overwritten (``secure_delete``). A retry of one of those
        events afterwards is a new event (it gets the time of receipt as ``ts``).

        Raises:
            ServiceUnavailableError: the ledger file cannot be opened or written.
        """
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("PRAGMA secure_delete = ON")
                cursor = conn.execute(
                    "DELETE FROM event_ids WHERE json_extract(event, '$[0]') = ?", (user_id,)
                )
            except sqlite3.Error as e:
                raise ServiceUnavailableError(
                    f"the event-id ledger {self.path} failed ({e}); the shopper's event ids "
                    "are still recorded: send the delete again"
                ) from e
        return int(cursor.rowcount)

    def close(self) -> None:
        """Close the file (the next call opens it again)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _conflict(e: KeyedEvent, stored: str, ts: int) -> str:
    user, product, kind, value = json.loads(stored)
    return (
        f"event_id was first used for a different event (user {user!r}, product "
        f"{product!r}, kind {kind!r}, value {value}, ts {ts}); an event_id names one "
        "event: send a new event_id for a new event"
    )
