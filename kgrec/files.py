"""Durable file writes: a reader sees the old content or the new, and a power cut neither.

Each helper writes to a temporary file of its own (named per process and thread,
so two writers of one path never share it), syncs it, moves it over the old one
(:func:`os.replace`) and syncs the directory, whose entry the move changed.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path


def private_tmp(path: Path) -> Path:
    """A temporary path beside ``path`` that only this process and thread use."""
    return path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")


def older_than(root: Path, pattern: str, seconds: float) -> list[Path]:
    """The entries of ``root`` matching ``pattern`` last modified over ``seconds`` ago, sorted.

    Those left by a process that stopped (a younger one may be in use now); one
    removed or renamed meanwhile is skipped.
    """
    now, out = time.time(), []
    for path in sorted(root.glob(pattern)):
        try:
            if now - path.stat().st_mtime > seconds:
                out.append(path)
        except FileNotFoundError:
            continue
    return out


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically and durably."""
    save_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def save_atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """Have ``write`` write a temporary file, then move it over ``path``; ``path``.

    The file and the directory are synced, so the new content is on disk before
    anything can read it under ``path``. A failed write leaves ``path`` as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = private_tmp(path)
    try:
        write(tmp)
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    sync_directory(path.parent)
    return path


def sync_tree(root: Path) -> None:
    """``fsync`` every file under ``root``, then each directory, deepest first.

    So that a directory a pointer names next is whole on disk after a power cut,
    not a set of names for data still in the page cache.
    """
    directories = [root]
    for path in sorted(root.rglob("*")):
        if path.is_dir():
            directories.append(path)
        elif path.is_file():
            with path.open("rb") as f:
                os.fsync(f.fileno())
    for directory in sorted(directories, key=lambda d: len(d.parts), reverse=True):
        sync_directory(directory)


def sync_directory(directory: Path) -> None:
    """``fsync`` a directory, so the names created or moved in it are on disk."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
