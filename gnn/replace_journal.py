"""Files of one directory replaced together, with a redo journal: all of them or, later, all.

Forgetting a shopper rewrites several files of an artifact version (the users
table, the user vectors, the ranking tables, the checksums), and the files only
agree with each other once every one is replaced. Each new file is first written
beside its target under a temporary name and synced (:func:`stage`). Then
:func:`replace_together` writes a journal naming every (temporary, target) pair,
syncs it, moves each file over its target (:func:`os.replace`, atomic per file)
and deletes the journal. A run stopped after the journal was written is finished
by :func:`finish_replacing` (every file it names still staged is moved in),
which the next forget, the loaders
(:meth:`~kgrec.gnn.artifacts.ArtifactSet.load`,
:meth:`~kgrec.gnn.snapshot.Snapshot.load`) and ``kgrec artifacts verify`` call.
A run stopped before the journal changed nothing; its staged files are deleted
by the next :func:`remove_stale` (under the forget lock, where no other run can
be staging).

Temporary names carry a token of their run, so a finisher working from an old
journal never moves a later run's half-written file.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Final

from kgrec.errors import ArtifactError

log = logging.getLogger(__name__)

JOURNAL: Final = ".replace-journal.json"
"""The journal of a :func:`replace_together` in progress, at the top of its directory."""
TMP_SUFFIX: Final = ".replace-tmp"
"""The end of every staged file's name."""
Writer = Callable[[IO[bytes]], object]
"""Writes a file's new content into the open file it is given."""
Staged = tuple[Path, Path]
"""(the staged file, the file it replaces)."""


def new_token() -> str:
    """A token for one run's staged names."""
    return secrets.token_hex(4)


def stage(path: Path, write: Writer, token: str) -> Path:
    """Write ``path``'s new content beside it under a temporary name, synced; that name."""
    tmp = path.with_name(f".{path.name}.{token}{TMP_SUFFIX}")
    with tmp.open("wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    return tmp


def discard(staged: Sequence[Staged]) -> None:
    """Delete the staged files (nothing was replaced)."""
    for tmp, _ in staged:
        tmp.unlink(missing_ok=True)


def replace_together(directory: Path, staged: Sequence[Staged]) -> None:
    """Move every staged file over its target, in order, under ``directory``'s journal.

    Raises:
        ValueError: a file lies outside ``directory``.
    """
    entries = [
        [tmp.relative_to(directory).as_posix(), target.relative_to(directory).as_posix()]
        for tmp, target in staged
    ]
    journal = directory / JOURNAL
    tmp_journal = directory / f"{JOURNAL}{TMP_SUFFIX}"
    with tmp_journal.open("w", encoding="utf-8") as f:
        json.dump({"replace": entries}, f)
        f.flush()
        os.fsync(f.fileno())
    tmp_journal.replace(journal)
    _sync_dirs([directory])
    _redo(directory, entries)
    journal.unlink(missing_ok=True)  # a finisher may have done it
    _sync_dirs([directory])


def finish_replacing(directory: Path) -> list[Path]:
    """Finish a :func:`replace_together` stopped part-way in ``directory``; the files it moved.

    Returns:
        The targets of the interrupted run ([] when there was none).

    Raises:
        ArtifactError: the journal cannot be read or the files cannot be moved
            (a read-only copy, say); the message names the directory.
    """
    journal = directory / JOURNAL
    try:
        content = json.loads(journal.read_text(encoding="utf-8"))
        entries = [(str(tmp), str(target)) for tmp, target in content["replace"]]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ArtifactError(
            f"{journal}: cannot read the journal of a rewrite stopped part-way ({e}), so "
            "its files may be half replaced: rebuild them (`kgrec embed` writes a new "
            "artifact version, `kgrec train` a new snapshot)"
        ) from e
    try:
        _redo(directory, [list(e) for e in entries])
        journal.unlink(missing_ok=True)
        _sync_dirs([directory])
    except OSError as e:
        raise ArtifactError(
            f"{directory}: a rewrite (forgetting a shopper) stopped part-way and cannot be "
            f"finished here ({e}); run `kgrec artifacts verify` where the directory is writable"
        ) from e
    log.warning(
        "finished a rewrite of %d file(s) in %s that was stopped part-way (forgetting a shopper)",
        len(entries),
        directory,
    )
    return [directory / target for _, target in entries]


def remove_stale(directory: Path) -> None:
    """Delete staged files a run stopped before its journal left under ``directory``.

    Call only where no run can be staging (under the forget lock) and after
    :func:`finish_replacing`.
    """
    if (directory / JOURNAL).exists():
        raise ArtifactError(f"{directory} has an unfinished rewrite: finish it first")
    for tmp in directory.rglob(f".*{TMP_SUFFIX}"):
        log.info("deleting %s, staged by a rewrite stopped before it began", tmp)
        tmp.unlink(missing_ok=True)


def _redo(directory: Path, entries: Sequence[Sequence[str]]) -> None:
    """Move each listed file still staged over its target; sync the directories."""
    for tmp, target in entries:
        try:
            (directory / tmp).replace(directory / target)
        except FileNotFoundError:  # moved already (before a stop, or by another finisher)
            continue
    _sync_dirs(sorted({(directory / target).parent for _, target in entries} | {directory}))


def _sync_dirs(directories: Sequence[Path]) -> None:
    for d in directories:
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
