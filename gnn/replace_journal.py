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

Temporary names and the journal's carry a token of their run, so a finisher
working from an old journal never moves a later run's half-written file nor
deletes a later run's journal. Every staged file and its directory are synced
before the journal is written, so a staged file the journal names and the disk
lacks was moved in already.
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
from kgrec.files import sync_directory, write_atomic

log = logging.getLogger(__name__)

JOURNAL_PREFIX: Final = ".replace-journal."
"""The journal of a :func:`replace_together` in progress, at the top of its directory:
``.replace-journal.<token>.json``."""
LEGACY_TMP_SUFFIX: Final = ".forget-tmp"
"""The end of the staged names kgrec wrote before the journal (2026-12-03)."""
TMP_SUFFIX: Final = ".replace-tmp"
"""The end of every staged file's name."""
Writer = Callable[[IO[bytes]], object]
"""Writes a file's new content into the open file it is given."""
Staged = tuple[Path, Path]
"""(the staged file, the file it replaces)."""


def new_token() -> str:
    """A token for one run's staged names."""
    return secrets.token_hex(4)


def journal_path(directory: Path, token: str) -> Path:
    """The journal run ``token`` writes under ``directory``."""
    return directory / f"{JOURNAL_PREFIX}{token}.json"


def stage(path: Path, write: Writer, token: str) -> Path:
    """Write ``path``'s new content beside it under a temporary name, synced; that name.

    A write that fails leaves no file behind.
    """
    tmp = path.with_name(f".{path.name}.{token}{TMP_SUFFIX}")
    try:
        with tmp.open("wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def discard(staged: Sequence[Staged]) -> None:
    """Delete the staged files (nothing was replaced)."""
    for tmp, _ in staged:
        tmp.unlink(missing_ok=True)


def replace_together(directory: Path, staged: Sequence[Staged], token: str) -> None:
    """Move every staged file (run ``token``'s) over its target, in order, under a journal.

    Raises:
        ArtifactError: the journal could not be written (nothing was changed, the
            staged files are deleted), or a move failed (the next load or forget
            finishes the rewrite).
    """
    entries = [
        [tmp.relative_to(directory).as_posix(), target.relative_to(directory).as_posix()]
        for tmp, target in staged
    ]
    journal = journal_path(directory, token)
    try:
        _sync_dirs({tmp.parent for tmp, _ in staged} | {directory})
        write_atomic(journal, json.dumps({"replace": entries}))  # synced, its folder too
    except OSError as e:
        discard(staged)
        journal.unlink(missing_ok=True)
        raise ArtifactError(
            f"{directory}: cannot write the journal of a rewrite ({e}); nothing in it was "
            "changed: free space or fix the permissions, then send the delete again"
        ) from e
    try:
        _redo(directory, entries)
        journal.unlink(missing_ok=True)  # a finisher may have done it
        sync_directory(directory)
    except OSError as e:
        raise ArtifactError(
            f"{directory}: a rewrite stopped part-way ({e}); loading the directory or the "
            "next forget finishes it from its journal"
        ) from e


def finish_replacing(directory: Path) -> list[Path]:
    """Finish any :func:`replace_together` stopped part-way in ``directory``.

    Returns:
        The files this call moved in ([] when there was nothing to finish, or
        the run that wrote the journal had moved them already).

    Raises:
        ArtifactError: a journal cannot be read or its files cannot be moved (a
            read-only copy, say); the message names the directory.
    """
    moved: list[Path] = []
    for journal in sorted(directory.glob(f"{JOURNAL_PREFIX}*.json")):
        try:
            content = json.loads(journal.read_text(encoding="utf-8"))
            entries = [(str(tmp), str(target)) for tmp, target in content["replace"]]
        except FileNotFoundError:  # its run finished meanwhile
            continue
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ArtifactError(
                f"{journal}: cannot read the journal of a rewrite stopped part-way ({e}), "
                "so its files may be half replaced: rebuild them (`kgrec embed` writes a "
                "new artifact version, `kgrec train` a new snapshot)"
            ) from e
        try:
            done = _redo(directory, entries)
            journal.unlink(missing_ok=True)
            sync_directory(directory)
        except OSError as e:
            raise ArtifactError(
                f"{directory}: a rewrite (forgetting a shopper) stopped part-way and cannot "
                f"be finished here ({e}); load it once where the directory is writable "
                "(`kgrec artifacts verify` for an artifact version, `kgrec train` for a "
                "snapshot)"
            ) from e
        if done:
            log.warning(
                "finished a rewrite of %s stopped part-way (forgetting a shopper): moved in %s",
                directory,
                ", ".join(p.name for p in done),
            )
        moved += done
    return moved


def remove_stale(directory: Path) -> None:
    """Delete staged files a run stopped before its journal left under ``directory``.

    Call only where no run can be staging (under the forget lock) and after
    :func:`finish_replacing`.
    """
    if any(directory.glob(f"{JOURNAL_PREFIX}*.json")):
        raise ArtifactError(f"{directory} has an unfinished rewrite: finish it first")
    stale = [
        p for suffix in (TMP_SUFFIX, LEGACY_TMP_SUFFIX) for p in directory.rglob(f".*{suffix}")
    ]
    stale += directory.glob(f".{JOURNAL_PREFIX}*.json.*.tmp")  # a journal cut short (write_atomic)
    for tmp in stale:
        log.info("deleting %s, staged by a rewrite stopped before it began", tmp)
        tmp.unlink(missing_ok=True)


def _redo(directory: Path, entries: Sequence[Sequence[str]]) -> list[Path]:
    """Move each listed file still staged over its target; sync the directories; those moved."""
    moved = []
    for tmp, target in entries:
        try:
            (directory / tmp).replace(directory / target)
        except FileNotFoundError:  # moved already (before a stop, or by another finisher)
            continue
        moved.append(directory / target)
    _sync_dirs({(directory / target).parent for _, target in entries} | {directory})
    return moved


def _sync_dirs(directories: set[Path]) -> None:
    for d in sorted(directories):
        sync_directory(d)
