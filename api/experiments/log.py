"""EventLog: the append-only experiment log, ``<data_dir>/experiments/events.jsonl``.

One JSON object per line: an ``impression`` when an answer in an experiment is
served, an ``event`` when ``POST /events`` brings feedback carrying a
``request_id`` (docs/experiments.md lists the fields). Each append is written,
flushed and ``fsync``'d before it returns, so a line the service answered for
survives a restart, a ``kill -9`` and a power cut; the first append also syncs
the directory that holds the new file.

A crash can cut the last line short. Reading skips such a line with a warning,
and the next append first ends it with a newline, so it never glues onto a good
line. Appends and :meth:`EventLog.forget_user` (which rewrites the file without
a shopper's lines and swaps it in atomically) take an exclusive ``flock`` on a
lock file beside the log, so processes sharing the data directory (the service
and ``kgrec users delete``) never lose a line to each other.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from kgrec._locks import exclusive_lock
from kgrec.errors import ServiceUnavailableError
from kgrec.files import sync_directory
from kgrec.paths import DataDir

log = logging.getLogger(__name__)
_LOCK_SUFFIX: Final = ".lock"
_FILE_MODE: Final = 0o600
_DIR_MODE: Final = 0o700
Record = dict[str, Any]


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class EventLog:
    """The experiment log of one file (opened for each append: nothing is held open).

    Args:
        path: the JSON-lines file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> EventLog:
        """The log of a kgrec data directory: ``<data_dir>/experiments/events.jsonl``."""
        return cls(DataDir(data_dir).experiment_log)

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the log's lock (threads of this process, then other processes)."""
        with self._lock:
            self.path.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
            lock_path = self.path.with_name(self.path.name + _LOCK_SUFFIX)
            with exclusive_lock(lock_path, mode=_FILE_MODE):
                yield

    def append(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Append ``records`` (one line each) and ``fsync`` them before returning.

        Raises:
            ServiceUnavailableError: the file cannot be written (disk full, permissions);
                nothing of this call is guaranteed to be stored.
        """
        if not records:
            return
        data = b"".join(
            json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
            for r in records
        )
        try:
            with self._exclusive():
                created = not self.path.exists()
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, _FILE_MODE)
                try:
                    size = os.fstat(fd).st_size
                    if size and os.pread(fd, 1, size - 1) != b"\n":
                        data = b"\n" + data  # a line cut short by a crash stays on its own
                    _write_all(fd, data)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                if created:
                    sync_directory(self.path.parent)
        except OSError as e:
            raise ServiceUnavailableError(
                f"the experiment log {self.path} cannot be written ({e.strerror or e}); "
                "the answer was not logged: free disk space or fix the permissions"
            ) from e

    def read(self) -> Iterator[Record]:
        """Every record, oldest first.

        A line that is not a JSON object (one a crash cut short) is skipped with a
        warning.
        """
        if not self.path.exists():
            return
        with self.path.open("rb") as f:
            for number, raw in enumerate(f, start=1):
                record = _parse(raw)
                if record is None:
                    if raw.strip():
                        log.warning(
                            "%s line %d is not a complete JSON record (a write cut short by "
                            "a crash?); skipped",
                            self.path,
                            number,
                        )
                    continue
                yield record

    def forget_user(self, user_id: str) -> int:
        """Rewrite the log without the records of ``user_id``; how many were removed.

        Lines that are not complete records go too: they could hold a part of the
        id. The new file is written and synced beside the log, then renamed over it, so a
        crash leaves either the old log or the new one, never a mix.

        Raises:
            ServiceUnavailableError: the file cannot be rewritten (the old one is intact).
        """
        if not self.path.exists():
            return 0
        removed = 0
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            with self._exclusive():
                kept: list[bytes] = []
                with self.path.open("rb") as f:
                    for raw in f:
                        record = _parse(raw)
                        if record is None or record.get("user_id") == user_id:
                            removed += record is not None
                            continue
                        kept.append(raw if raw.endswith(b"\n") else raw + b"\n")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _FILE_MODE)
                try:
                    _write_all(fd, b"".join(kept))
                    os.fsync(fd)
                finally:
                    os.close(fd)
                tmp.replace(self.path)
                sync_directory(self.path.parent)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise ServiceUnavailableError(
                f"the experiment log {self.path} cannot be rewritten ({e.strerror or e}); "
                "the shopper's lines are still there: send the delete again"
            ) from e
        return removed


def _parse(raw: bytes) -> Record | None:
    """The JSON object of one line (None: not a complete one)."""
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None
