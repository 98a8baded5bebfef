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
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from kgrec._locks import exclusive_lock
from kgrec.files import write_atomic
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


def forget_epoch(data_dir: Path) -> str:
    """A token that every forget changes ("" when none was counted).

    A random token, not a count: a damaged or deleted file can never make it read
    as an earlier value again.
    """
    path = DataDir(data_dir).privacy / EPOCH_FILE
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""


def count_forget(data_dir: Path) -> None:
    """Change the epoch to a new random token (hold :func:`forget_lock`)."""
    write_atomic(privacy_dir(data_dir) / EPOCH_FILE, secrets.token_hex(16))
