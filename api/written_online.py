"""WrittenOnline: the ledger of products and shoppers written through the API.

A restart serves the artifact version, then restores what the graph holds
beyond it (:mod:`kgrec.api.restore`). Products and shoppers the version lacks
are found by their ids alone; but a product of the version updated online (a
price, ``in_stock``) or a shopper of the version who sent events since looks the
same by id. The ledger names them: every product and shopper id an online write
touched, with when (``<data_dir>/api/written-online.sqlite3``). The restore takes
those written since the version's snapshot was exported
(:attr:`kgrec.gnn.artifacts.ArtifactManifest.snapshot_exported_at`) and serves
them as the graph holds them now.

An id is recorded before the graph write (a write that then fails leaves an id
the restore reads back from the graph: nothing served wrongly). SQLite serialises
writers, so processes sharing one data directory keep one ledger. A forgotten
shopper's id is deleted with ``secure_delete``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from kgrec.errors import ArtifactError, ServiceUnavailableError
from kgrec.paths import DataDir
from kgrec.typing import USER

CLOCK_MARGIN_S: Final = 60.0
"""How far before a snapshot's export the ledger's ids count as written since: the
service's and the exporting host's clocks may differ by a little (a write also
records its ids again once it committed, so a slow write is covered)."""
_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS written ("
    "label TEXT NOT NULL, id TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (label, id))",
    "CREATE INDEX IF NOT EXISTS written_at ON written (label, at)",
)


class WrittenOnline:
    """The online-write ledger of one data directory (opened on first use).

    Args:
        path: the SQLite file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> WrittenOnline:
        """The ledger of a kgrec data directory: ``<data_dir>/api/written-online.sqlite3``."""
        return cls(DataDir(data_dir).written_online)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            for statement in _SCHEMA:
                conn.execute(statement)
            self._conn = conn
        return self._conn

    def record(self, label: str, ids: Sequence[str], at: float) -> None:
        """Record that ``ids`` of ``label`` (Product, User) are written at ``at`` (unix s).

        Raises:
            ServiceUnavailableError: the ledger cannot be opened or written (the
                caller writes nothing).
        """
        if not ids:
            return
        try:
            with self._lock:
                conn = self._connection()
                conn.execute("BEGIN IMMEDIATE")  # one transaction (one fsync) for the batch
                try:
                    conn.executemany(
                        "INSERT INTO written VALUES (?, ?, ?) "
                        "ON CONFLICT (label, id) DO UPDATE SET at = max(at, excluded.at)",
                        [(label, i, at) for i in dict.fromkeys(ids)],
                    )
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
        except (OSError, sqlite3.Error) as e:
            raise ServiceUnavailableError(
                f"not accepted: the online-write ledger {self.path} cannot be written ({e}); "
                "nothing was written, retry later"
            ) from e

    def since(self, label: str, at: float) -> list[str]:
        """The ids of ``label`` written at or after ``at`` (unix s), sorted.

        Raises:
            ArtifactError: the ledger cannot be opened or read (the file named).
        """
        try:
            with self._lock:
                rows = self._connection().execute(
                    "SELECT id FROM written WHERE label = ? AND at >= ? ORDER BY id", (label, at)
                )
                return [str(r[0]) for r in rows]
        except (OSError, sqlite3.Error) as e:
            raise ArtifactError(
                f"the online-write ledger {self.path} cannot be read ({e}); move it aside "
                "to serve the artifact version's rows of what was written online since"
            ) from e

    def forget_user(self, user_id: str) -> int:
        """Remove the shopper's entry (its bytes overwritten); 1 when there was one.

        Raises:
            ServiceUnavailableError: the ledger cannot be opened or written.
        """
        try:
            with self._lock:
                conn = self._connection()
                conn.execute("PRAGMA secure_delete = ON")
                cursor = conn.execute(
                    "DELETE FROM written WHERE label = ? AND id = ?", (USER, user_id)
                )
                return int(cursor.rowcount)
        except (OSError, sqlite3.Error) as e:
            raise ServiceUnavailableError(
                f"the online-write ledger {self.path} failed ({e}); the shopper's id is "
                "still recorded: send the delete again"
            ) from e

    def close(self) -> None:
        """Close the file (the next call opens it again)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
