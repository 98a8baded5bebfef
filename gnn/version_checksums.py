"""An artifact version's checksums: every file it was published with, and its SHA-256.

``kgrec embed`` writes ``checksums.sha256`` into a version before publishing it,
in the format of coreutils' ``sha256sum`` (``<hex digest>  <relative path>``), so
``sha256sum -c checksums.sha256`` inside the version directory checks it too.
Loading a version, and ``kgrec artifacts promote`` / ``verify``, compare the
files with it: a file that is missing, cut short or changed since is an error
naming it, instead of a service that serves damaged vectors or a ranker that
fails on its first request. Files not listed are ignored: the caches written
into a version later (the compiled boosters, keyed by host, with checksums of
their own) and the promotion gate's record, which a retrain may rewrite.
Forgetting a shopper rewrites some files in place and the checksum file with
them (:func:`checksums_with`). A version written before kgrec recorded checksums
has none and loads as before.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from kgrec.errors import ArtifactError

log = logging.getLogger(__name__)

CHECKSUMS: Final = "checksums.sha256"
"""The checksum file at the top of a version directory."""
UNLISTED_DIRS: Final = ("ranking/compiled",)
"""Caches inside a version, written after it was published (never listed)."""
UNLISTED_FILES: Final = ("gate.json",)
"""Records a version keeps after publication: the promotion gate's decision, which
``kgrec train --since`` rewrites when another promotion landed first (never listed)."""


def file_sha256(path: Path) -> str:
    """The hex SHA-256 of the file at ``path``."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _listed(directory: Path) -> list[str]:
    """The version's files to list: relative POSIX paths, sorted, caches left out."""
    out = []
    for path in directory.rglob("*"):
        name = path.relative_to(directory).as_posix()
        if not path.is_file() or name == CHECKSUMS or name in UNLISTED_FILES:
            continue
        if any(name.startswith(f"{d}/") for d in UNLISTED_DIRS):
            continue
        out.append(name)
    return sorted(out)


def write_checksums(directory: Path) -> Path:
    """Write ``checksums.sha256`` for every file under ``directory`` (a version being written)."""
    lines = [f"{file_sha256(directory / name)}  {name}\n" for name in _listed(directory)]
    path = directory / CHECKSUMS
    path.write_text("".join(lines), encoding="utf-8")
    return path


def checksums_with(directory: Path, replaced: Mapping[str, Path]) -> bytes | None:
    """The version's checksum file once its files ``replaced`` (name -> new content) are.

    For a rewrite in place (forgetting a shopper): the new content is read from
    the staged files before they replace the old ones. None when the version has
    no checksums (nothing to keep up to date).

    Raises:
        ArtifactError: the checksum file is not in ``sha256sum`` format.
    """
    listed = read_checksums(directory)
    if listed is None:
        return None
    listed |= {name: file_sha256(staged) for name, staged in replaced.items()}
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(listed.items())).encode()


def read_checksums(directory: Path) -> dict[str, str] | None:
    """Relative path -> hex digest, as ``checksums.sha256`` lists them (None: no such file).

    Raises:
        ArtifactError: the file is not in ``sha256sum`` format (the line named).
    """
    path = directory / CHECKSUMS
    if not path.is_file():
        return None
    out: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name:
            raise ArtifactError(
                f"{path}, line {number}: not '<sha256 hex>  <path>' as sha256sum writes it"
            )
        out[name] = digest
    return out


def damaged_files(directory: Path) -> list[str] | None:
    """What differs from the version's checksums, one line per file (None: no checksums).

    Raises:
        ArtifactError: the checksum file is not in ``sha256sum`` format.
    """
    expected = read_checksums(directory)
    if expected is None:
        return None
    problems = []
    for name, digest in expected.items():
        path = directory / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif (got := file_sha256(path)) != digest:
            size = path.stat().st_size
            problems.append(f"{name}: SHA-256 {got[:12]}… != {digest[:12]}… ({size} bytes now)")
    return problems


def verify_checksums(directory: Path) -> bool:
    """Check ``directory``'s files against its checksums; False when it has none.

    Raises:
        ArtifactError: a listed file is missing or differs (each one named, with
            what to do), or the checksum file is damaged.
    """
    start = time.perf_counter()
    problems = damaged_files(directory)
    if problems is None:
        log.info("%s has no %s (written before kgrec recorded them)", directory, CHECKSUMS)
        return False
    if problems:
        raise ArtifactError(
            f"artifact version {directory} is damaged: {'; '.join(problems)}. Copy the "
            f"version again from where it was written, or promote another one "
            f"(`kgrec artifacts list`) or rebuild it (`kgrec embed`)"
        )
    log.debug("checksums of %s verified in %.2f s", directory, time.perf_counter() - start)
    return True
