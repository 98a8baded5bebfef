"""Artifact versions on disk: which one is promoted, the promotion history, pruning.

Under ``<data_dir>/artifacts/``::

    <version>/           one artifact version (:mod:`kgrec.gnn.artifacts`), immutable
    LATEST               the promoted version's name: what ``kgrec serve`` loads and
                         swaps to (:mod:`kgrec.api.reloader`)
    PROMOTIONS.json      the promotion history, oldest first (one entry per promote
                         or rollback: version, time, action, reason)
    .versions.lock       held while LATEST and the history change
    .writing-*           a version being written (``kgrec embed``), renamed into place
    .deleting-*          a version being pruned: renamed first, then deleted

A prune renames a version before deleting it, so a prune stopped part-way never
leaves a half-deleted version listed; the next prune deletes what such a stop
left, and ``.writing-*`` directories older than a day (a stopped embed).

LATEST and the history are each written to a temporary file and moved over the old
one (:func:`os.replace`), so a reader sees the old or the new content, never half.
The history is a stack: a promote pushes a version, a rollback pops the current one,
so two rollbacks after promoting A, B, C serve A. The version a rollback would
return to ("previous") and LATEST are never pruned.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final, Literal

from kgrec._locks import exclusive_lock
from kgrec.errors import ArtifactError
from kgrec.files import older_than, write_atomic
from kgrec.gnn.artifacts import LATEST, MANIFEST, WRITING_PREFIX, ArtifactManifest
from kgrec.paths import DataDir

log = logging.getLogger(__name__)
HISTORY: Final = "PROMOTIONS.json"
GATE: Final = "gate.json"
"""The promotion gate's figures, written into a version by ``kgrec train --since``."""
_LOCK: Final = ".versions.lock"
_DELETING: Final = ".deleting-"
STALE_WRITING_S: Final = 24 * 3600.0
"""Age after which a version's temporary directory counts as left by a stopped embed."""
Action = Literal["promote", "rollback"]


@dataclass(frozen=True)
class Promotion:
    """One change of LATEST.

    Attributes:
        version: the version LATEST named afterwards.
        at: unix time of the change.
        action: ``promote`` (pushes ``version``) or ``rollback`` (pops the one before).
        reason: why, in words (the command, the gate's decision).
    """

    version: str
    at: float
    action: Action
    reason: str


@dataclass(frozen=True)
class VersionInfo:
    """What ``kgrec artifacts list`` shows of one version.

    Attributes:
        gate: the promotion gate's figures recorded in the version (None: none).
        problem: why its manifest or gate file cannot be read (None: both can; the
            counts are then 0).
    """

    version: str
    created_at: float
    num_products: int
    num_users: int
    latest: bool
    previous: bool
    gate: dict[str, Any] | None
    problem: str | None = None


class LatestMovedError(ArtifactError):
    """A conditional promotion found LATEST moved (:meth:`VersionStore.promote`, ``over``)."""


class VersionStore:
    """The artifact versions under ``root`` and the pointer to the promoted one.

    Args:
        root: ``<data_dir>/artifacts``.
        keep: versions kept on disk after a promotion (at least 2).
    """

    def __init__(self, root: Path, keep: int = 5) -> None:
        if keep < 2:
            raise ArtifactError(f"keep={keep}: at least 2 versions must be kept (LATEST and one)")
        self.root = root
        self.keep = keep

    @classmethod
    def in_data_dir(cls, data_dir: Path, keep: int = 5) -> VersionStore:
        """The versions under ``<data_dir>/artifacts``."""
        return cls(DataDir(data_dir).artifacts, keep)

    # Reading ----------------------------------------------------------------------
    def manifest(self, version: str) -> ArtifactManifest:
        """The manifest of ``version``.

        Raises:
            ArtifactError: no such version (the message lists those that exist).
        """
        path = self.path(version)
        try:
            return ArtifactManifest.from_json((path / MANIFEST).read_text())
        except (OSError, ValueError, TypeError) as e:
            raise ArtifactError(f"cannot read the manifest of version {version}: {e}") from e

    def versions(self) -> list[str]:
        """Complete versions, oldest first (by creation time, then name)."""
        if not self.root.is_dir():
            return []
        found: list[tuple[float, str]] = []
        for d in self.root.iterdir():
            if d.name.startswith(".") or not (d / MANIFEST).is_file():
                continue
            try:
                created = float(json.loads((d / MANIFEST).read_text())["created_at"])
            except (OSError, ValueError, KeyError, TypeError):
                created = d.stat().st_mtime
            found.append((created, d.name))
        return [name for _, name in sorted(found)]

    def path(self, version: str) -> Path:
        """The directory of ``version``.

        Raises:
            ArtifactError: no such version (the message lists those that exist).
        """
        known = self.versions()
        if version not in known:
            listed = ", ".join(known) if known else "none (run `kgrec embed`)"
            raise ArtifactError(
                f"unknown artifact version {version!r} under {self.root}; versions: {listed}"
            )
        return self.root / version

    def latest(self) -> str | None:
        """The version LATEST names (None: no LATEST yet)."""
        pointer = self.root / LATEST
        return pointer.read_text().strip() if pointer.is_file() else None

    def history(self) -> list[Promotion]:
        """The promotion history, oldest first (empty when none was recorded)."""
        path = self.root / HISTORY
        if not path.is_file():
            return []
        try:
            return [Promotion(**entry) for entry in json.loads(path.read_text())]
        except (OSError, ValueError, TypeError) as e:
            raise ArtifactError(
                f"cannot read the promotion history {path}: {e}; repair it, or move it aside "
                "(LATEST still names the version served; rollbacks start again from it)"
            ) from e

    def _stack(self) -> list[str]:
        """The promoted versions a rollback walks back through, current last.

        A LATEST written without a history entry (an older ``kgrec embed``) counts as
        promoted on top; history entries above the last one naming LATEST (a process
        stopped between writing the history and LATEST) do not count.
        """
        stack = _walk(self.history())
        latest = self.latest()
        if latest is not None and latest in stack:
            stack = stack[: len(stack) - stack[::-1].index(latest)]
        elif latest is not None:
            stack.append(latest)
        return stack

    def previous(self) -> str | None:
        """The version a rollback returns to (None: there is none).

        It is the newest promoted one still on disk below LATEST.
        """
        on_disk = set(self.versions())
        stack = self._stack()
        for version in reversed(stack[:-1]):
            if version in on_disk and version != stack[-1]:
                return version
        return None

    def gate(self, version: str) -> dict[str, Any] | None:
        """The gate figures recorded in ``version`` (None: it was not gated)."""
        path = self.root / version / GATE
        if not path.is_file():
            return None
        try:
            result: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise ArtifactError(f"cannot read {path}: {e}; repair or remove that file") from e
        return result

    def info(self) -> list[VersionInfo]:
        """Every version with its counts and marks, oldest first."""
        latest, previous = self.latest(), self.previous()
        out = []
        for version in self.versions():
            is_latest, is_previous = version == latest, version == previous
            try:
                m, gate = self.manifest(version), self.gate(version)
            except ArtifactError as e:  # listed with the reason; the others still are
                out.append(VersionInfo(version, 0.0, 0, 0, is_latest, is_previous, None, str(e)))
                continue
            out.append(
                VersionInfo(
                    version, m.created_at, m.num_products, m.num_users, is_latest, is_previous, gate
                )
            )
        return out

    def new_name(self, stem: str) -> str:
        """``stem``, or ``stem-2``, ``stem-3``... when taken (two versions in one second)."""
        name, n = stem, 1
        while (self.root / name).exists():
            n += 1
            name = f"{stem}-{n}"
        return name

    # Changing ---------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the versions lock (processes and threads alike)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(self.root / _LOCK):
            yield

    def _record(self, version: str, action: Action, reason: str) -> None:
        history = self.history()
        entries = [asdict(p) for p in history]
        walked, latest = _walk(history), self.latest()
        if latest is not None and (not walked or walked[-1] != latest):
            # LATEST without its history entry (a process stopped between the two
            # files): recorded first, so the stray entries above it never count again
            fix: Action = "rollback" if latest in walked else "promote"
            note = "LATEST was written without its history entry; recorded now"
            entries.append(asdict(Promotion(latest, time.time(), fix, note)))
        entries.append(asdict(Promotion(version, time.time(), action, reason)))
        write_atomic(self.root / HISTORY, json.dumps(entries, indent=2))
        write_atomic(self.root / LATEST, version)

    def promote(
        self,
        version: str,
        reason: str,
        *,
        over: str | None = None,
        check: Callable[[str], object] | None = None,
        then: Callable[[str], object] | None = None,
    ) -> list[str]:
        """Point LATEST at ``version``, record it, prune; the versions deleted.

        Args:
            version: the version to serve.
            reason: recorded in the history.
            over: promote only while LATEST still names this version (the one a
                gate compared ``version`` with); checked under the lock.
            check: called with ``version`` under the lock before LATEST moves; what
                it raises stops the promotion (nothing changed).
            then: called with ``version`` under the lock once LATEST names it (the
                latest checkpoint follows it: no rollback can land in between).

        Raises:
            ArtifactError: no such version (the message lists those that exist).
            LatestMovedError: LATEST no longer names ``over`` (nothing changed).
        """
        with self._locked():
            self.path(version)
            latest = self.latest()
            if over is not None and latest != over:
                raise LatestMovedError(
                    f"{version} is not promoted: it was compared with {over}, but LATEST "
                    f"now names {latest} (promoted or rolled back meanwhile); compare them "
                    f"and promote it with `kgrec artifacts promote {version}` if it should serve"
                )
            if check is not None:
                check(version)
            self._record(version, "promote", reason)
            if then is not None:
                then(version)
            log.info("promoted artifact version %s (%s)", version, reason)
            return self._prune()

    def rollback(
        self,
        *,
        check: Callable[[str], object] | None = None,
        then: Callable[[str], object] | None = None,
    ) -> str:
        """Point LATEST back at the previously promoted version; that version.

        ``check`` and ``then`` are called with the target under the lock, before
        and after LATEST moves, as in :meth:`promote`.

        Raises:
            ArtifactError: nothing to roll back to.
        """
        with self._locked():
            target = self.previous()
            if target is None:
                raise ArtifactError(
                    f"nothing to roll back to under {self.root}: no version was promoted "
                    f"before {self.latest() or 'LATEST'} (or it was deleted); versions: "
                    f"{', '.join(self.versions()) or 'none'}"
                )
            if check is not None:
                check(target)
            self._record(target, "rollback", f"rolled back from {self.latest()}")
            log.info("rolled back to artifact version %s", target)
            if then is not None:
                then(target)
            return target

    def prune(self) -> list[str]:
        """Delete the oldest versions beyond ``keep``; the versions deleted."""
        with self._locked():
            return self._prune()

    def _sweep(self) -> None:
        """Delete what a prune or an embed stopped part-way left behind.

        A prune's renamed versions (``.deleting-*``) and the temporary directories of
        versions being written (``.writing-*``) older than :data:`STALE_WRITING_S`:
        they hold shopper ids too, which no forget reaches.
        """
        for leftover in sorted(self.root.glob(f"{_DELETING}*")) + stale_writing(self.root):
            log.warning("deleting %s, left by a prune or an embed stopped part-way", leftover)
            shutil.rmtree(leftover, ignore_errors=True)

    def _prune(self) -> list[str]:
        protected = {self.latest(), self.previous()}
        versions = self.versions()
        excess = len(versions) - self.keep
        deleted = []
        for version in versions:
            if excess <= 0:
                break
            if version in protected:
                continue
            doomed = self.root / f"{_DELETING}{version}"
            (self.root / version).rename(doomed)  # gone from the list at once, whole or not
            shutil.rmtree(doomed)
            deleted.append(version)
            excess -= 1
        self._sweep()
        if deleted:
            log.info(
                "pruned %d artifact version(s) beyond KGREC_ARTIFACTS__KEEP_VERSIONS=%d: %s",
                len(deleted),
                self.keep,
                ", ".join(deleted),
            )
        return deleted


def _walk(history: list[Promotion]) -> list[str]:
    """The stack the history's promotes push and its rollbacks pop (current last)."""
    stack: list[str] = []
    for entry in history:
        if entry.action == "rollback":
            while stack and stack[-1] != entry.version:
                stack.pop()
            if not stack:
                stack.append(entry.version)
        elif not stack or stack[-1] != entry.version:
            stack.append(entry.version)
    return stack


def stale_writing(root: Path) -> list[Path]:
    """The ``.writing-*`` directories under ``root`` older than :data:`STALE_WRITING_S`.

    Those of a stopped ``kgrec embed``: a younger one may be written now. One renamed
    into place meanwhile is skipped.
    """
    return older_than(root, f"{WRITING_PREFIX}*", STALE_WRITING_S)
