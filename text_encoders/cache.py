"""An on-disk embedding cache keyed by (model id, hash of the composed text)."""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import numpy as np

from kgrec.paths import DataDir
from kgrec.text_encoders.base import TextEncoder, check_texts

log = logging.getLogger(__name__)

_LOOKUP_CHUNK: Final = 5000  # keys per SELECT
_BUSY_TIMEOUT_S: Final = 60.0  # how long a write waits for another connection's to end
_SELECT: Final = (
    "SELECT key, vector FROM vectors WHERE model_id = ? AND key IN (SELECT value FROM json_each(?))"
)
_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS vectors (model_id TEXT NOT NULL, key TEXT NOT NULL, "
    "vector BLOB NOT NULL, PRIMARY KEY (model_id, key)) WITHOUT ROWID"
)


def text_key(text: str) -> str:
    """The cache key of one text: blake2b-128 of its UTF-8 bytes, in hex."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def vector_space(encoder: TextEncoder) -> str:
    """What a cached vector depends on besides its text.

    The weights and the token limit (a text truncated at 128 tokens and at 256 has different
    vectors).
    """
    return f"{encoder.model_id}#max{encoder.max_length}"


class EmbeddingCache:
    """Vectors of texts already encoded, in SQLite under ``<data_dir>/text_cache/``.

    Re-imports and restarts re-encode only texts whose composed form changed.
    Safe across processes and threads: one connection per object, used by one
    thread at a time, and every write in a ``BEGIN IMMEDIATE`` transaction, so a
    writer waits for another connection's write instead of failing with
    "database is locked".

    Args:
        path: the SQLite file.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """The connection inside a write transaction, taken before the first statement.

        ``BEGIN IMMEDIATE`` asks for the write lock up front, so SQLite's busy handler
        waits for another connection's write; a deferred transaction that read first
        could only fail ("database is locked") once its snapshot went stale.
        """
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # SQLite may have rolled back already
                    self._db.execute("ROLLBACK")
                raise

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> EmbeddingCache:
        """The cache of a kgrec data directory (``DataDir.text_cache``)."""
        return cls(DataDir(data_dir).text_cache)

    def get(self, model_id: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors among ``keys`` (absent keys are left out)."""
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = json.dumps(list(keys[start : start + _LOOKUP_CHUNK]))
            with self._lock:  # read to the end before another thread uses the connection
                rows = self._db.execute(_SELECT, [model_id, chunk]).fetchall()
            for key, blob in rows:
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, model_id: str, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Store vectors [N, D] under ``keys`` (replacing any with the same key)."""
        rows = [
            (model_id, k, v.astype(np.float32).tobytes())
            for k, v in zip(keys, vectors, strict=True)
        ]
        with self._writing() as db:
            db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)

    def delete(self, keys: Sequence[str]) -> int:
        """Remove the vectors of ``keys`` (:func:`text_key`) under every model; how many.

        The freed bytes are overwritten (``secure_delete``) and the write-ahead log is
        checkpointed and truncated, so the entries leave the files, not only the
        table (a reader holding the log open keeps its frames until it lets go).
        """
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return 0
        with self._lock:
            self._db.execute("PRAGMA secure_delete = ON")
        with self._writing() as db:
            cursor = db.execute(
                "DELETE FROM vectors WHERE key IN (SELECT value FROM json_each(?))",
                [json.dumps(wanted)],
            )
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(cursor.rowcount)

    def count(self, model_id: str) -> int:
        """How many vectors are cached for ``model_id``."""
        with self._lock:
            row = self._db.execute("SELECT count(*) FROM vectors WHERE model_id = ?", [model_id])
            return int(row.fetchone()[0])

    def close(self) -> None:
        """Close the cache's SQLite connection."""
        with self._lock:
            self._db.close()

    def encode(
        self, encoder: TextEncoder, texts: Sequence[str], *, show_progress: bool = False
    ) -> tuple[np.ndarray, int]:
        """Vectors of ``texts``, encoding only those not cached yet.

        Returns:
            (float32 [N, dim] vectors, number of distinct texts that were encoded).
        """
        items = check_texts(texts)
        keys = [text_key(t) for t in items]
        space = vector_space(encoder)
        cached = self.get(space, list(dict.fromkeys(keys)))
        missing = {k: t for k, t in zip(keys, items, strict=True) if k not in cached}
        start = time.perf_counter()
        if missing:
            fresh = encoder.encode(list(missing.values()), show_progress=show_progress)
            self.put(space, list(missing), fresh)
            cached.update(zip(missing, fresh, strict=True))
        out = np.empty((len(items), encoder.dim), dtype=np.float32)
        for i, k in enumerate(keys):
            out[i] = cached[k]
        if show_progress:
            hits = len(items) - len(missing)
            seconds = time.perf_counter() - start
            log.info(
                "text vectors: %s texts, %s from the cache, %s encoded in %.1f s",
                f"{len(items):,}",
                f"{hits:,}",
                f"{len(missing):,}",
                seconds,
            )
        return out, len(missing)
