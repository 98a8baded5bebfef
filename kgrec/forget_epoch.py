"""The forget lock and epoch of a data directory: what a forget and a new version share.

A forget (:mod:`kgrec.api.forget`) holds the lock while it removes a shopper, and
counts itself in the epoch file (a number: no id is kept). ``kgrec embed``
(:func:`kgrec.gnn.pipeline.write_artifacts`) reads the epoch before it loads its
snapshot and again, under the lock, once its version is on disk: a forget that
landed in between missed the version (it was not on disk yet), so the version
is rewritten without the shoppers the graph no longer holds. Forgets after that
find the version on disk like any other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from kgrec._locks import exclusive_lock
from kgrec.paths import DataDir

LOCK_FILE: Final = "forget.lock"
EPOCH_FILE: Final = "forget-epoch"
_PRIVATE_DIR_MODE: Final = 0o700


def privacy_dir(data_dir: Path) -> Path:
    """``<data_dir>/privacy``, created (mode 0700) when missing."""
    directory = DataDir(data_dir).privacy
    directory.mkdir(mode=_PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    return directory


@contextlib.contextmanager
def forget_lock(data_dir: Path) -> Iterator[None]:
    """Hold the data directory's forget lock (threads and processes alike)."""
    with exclusive_lock(privacy_dir(data_dir) / LOCK_FILE):
        yield


def forget_epoch(data_dir: Path) -> int:
    """How many forgets the data directory has seen (0 when none was counted)."""
    path = DataDir(data_dir).privacy / EPOCH_FILE
    try:
        return int(path.read_text(encoding="utf-8").strip() or 0)
    except FileNotFoundError:
        return 0


def count_forget(data_dir: Path) -> None:
    """Add one forget to the epoch (hold :func:`forget_lock`)."""
    path = privacy_dir(data_dir) / EPOCH_FILE
    tmp = path.with_name(f".{EPOCH_FILE}.tmp")
    tmp.write_text(str(forget_epoch(data_dir) + 1), encoding="utf-8")
    tmp.replace(path)
