"""The latest model: ``checkpoints/latest.pt`` and its ranker, what ``kgrec embed`` embeds with.

Three commands make a model the latest: ``kgrec train`` (:func:`make_latest_checkpoint`),
``kgrec train --since`` when its version is promoted, and ``kgrec artifacts
promote`` / ``rollback`` (:func:`adopt_version_model`). ``kgrec embed`` reads the
latest model and, minutes later, its ranker. Each install and each read takes
the latest lock (``checkpoints/.latest.lock``), and an embed pins the pair it
read (:func:`pinned_latest`), so a model never meets another model's ranker:
before, a ``kgrec train`` finishing while an embed ran left the embed to write
the old model's vectors beside the new model's ranker and checkpoint.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Final

from kgrec._locks import exclusive_lock
from kgrec.files import older_than, private_tmp
from kgrec.gnn.artifacts import CHECKPOINT
from kgrec.gnn.ranking.fitting import copy_trained
from kgrec.gnn.ranking.served import RANKING_DIR

log = logging.getLogger(__name__)

LATEST_CHECKPOINT: Final = "latest.pt"
LATEST_LOCK: Final = ".latest.lock"
"""Held while the latest model is installed or pinned (in the checkpoints directory)."""
PIN_PREFIX: Final = "pinned"
STALE_PIN_S: Final = 2 * 24 * 3600
"""A pin this old was left by an embed that was killed (an embed takes minutes): removed."""


def ranking_dir_of(checkpoint: Path) -> Path:
    """The ranker trained with ``checkpoint``: ``<checkpoint stem>.ranking/`` beside it.

    For an artifact version's ``checkpoint.pt``, the version's ``ranking/`` when
    it has one.
    """
    if checkpoint.name == CHECKPOINT and (checkpoint.parent / RANKING_DIR).is_dir():
        return checkpoint.parent / RANKING_DIR
    return checkpoint.with_name(f"{checkpoint.stem}.ranking")


def make_latest_checkpoint(path: Path) -> Path:
    """Copy the checkpoint at ``path`` and its ranker beside it as the latest ones.

    Returns:
        The new ``latest.pt`` (its ranker is ``latest.ranking``).
    """
    latest = path.with_name(LATEST_CHECKPOINT)
    if latest.resolve() == path.resolve():
        return latest
    return _install_latest(path.parent, path, ranking_dir_of(path), shutil.copytree)


def adopt_version_model(version: Path, checkpoints: Path) -> Path | None:
    """Make the model artifact version ``version`` was built with the latest checkpoint.

    Called when LATEST moves to a version that is not the newest model (a
    rollback, a promote of an older version): ``kgrec embed`` embeds with
    ``latest.pt`` and its ranker, so without this the next embed would serve
    the model taken out of service again (:func:`_install_latest`).

    Returns:
        The new ``latest.pt``, or None when the version holds no checkpoint
        (then the latest checkpoint is left as it is).
    """
    source = version / CHECKPOINT
    if not source.is_file():
        log.warning(
            "artifact version %s holds no %s: %s is left as it is",
            version.name,
            CHECKPOINT,
            checkpoints / LATEST_CHECKPOINT,
        )
        return None
    latest = _install_latest(checkpoints, source, version / RANKING_DIR, copy_trained)
    log.info("%s is now the model of artifact version %s", latest, version.name)
    return latest


def _install_latest(
    checkpoints: Path, model: Path, ranking: Path, copy_ranking: Callable[[Path, Path], object]
) -> Path:
    """Make ``model`` and its trained ``ranking`` (when a directory) the latest ones.

    Both are staged beside the latest ones, then moved over them one after the
    other under the latest lock, so no other install interleaves with this one
    and no embed pins the pair between the two renames; a process stopped
    between them leaves the new model without a ranker until the next install.
    """
    checkpoints.mkdir(parents=True, exist_ok=True)
    latest = checkpoints / LATEST_CHECKPOINT
    staged = private_tmp(checkpoints / LATEST_CHECKPOINT)
    staged_ranking = ranking_dir_of(staged)
    shutil.rmtree(staged_ranking, ignore_errors=True)
    shutil.copy2(model, staged)
    if ranking.is_dir():
        copy_ranking(ranking, staged_ranking)
    with exclusive_lock(checkpoints / LATEST_LOCK):
        shutil.rmtree(ranking_dir_of(latest), ignore_errors=True)
        staged.replace(latest)
        if staged_ranking.is_dir():
            staged_ranking.replace(ranking_dir_of(latest))
    return latest


@contextmanager
def pinned_latest(checkpoints: Path) -> Iterator[Path]:
    """The latest checkpoint and its ranker as they are now, for as long as the block runs.

    Hard links to both (the ranker's files each linked; copies where the file
    system refuses links) are taken under the latest lock into a directory of
    this process and thread, and removed when the block ends. An install
    replaces the latest files by renaming new ones over them, so the pin keeps
    the pair that was read, whatever is installed meanwhile. Without a
    ``latest.pt`` the path is yielded as it is (reading it then fails with the
    usual message); where no pin can be made (a read-only checkpoints
    directory) it is yielded as it is too, with a warning, as before pins.

    Yields:
        The pinned ``latest.pt`` (its ranker, when it has one, is
        :func:`ranking_dir_of` it).
    """
    latest = checkpoints / LATEST_CHECKPOINT
    pin = private_tmp(checkpoints / PIN_PREFIX)
    pinned = latest
    try:
        with exclusive_lock(checkpoints / LATEST_LOCK) if checkpoints.is_dir() else nullcontext():
            _sweep_pins(checkpoints, keep=pin)
            if latest.is_file():
                shutil.rmtree(pin, ignore_errors=True)
                pin.mkdir()
                model, ranking = pin / LATEST_CHECKPOINT, ranking_dir_of(latest)
                _link_or_copy(latest, model)
                if ranking.is_dir():
                    shutil.copytree(ranking, ranking_dir_of(model), copy_function=_link_or_copy)
                pinned = model
    except OSError as e:
        shutil.rmtree(pin, ignore_errors=True)
        pinned = latest
        log.warning(
            "cannot pin %s and its ranker (%s): embedding with them unpinned, so a model "
            "installed during the embed could mix with them",
            latest,
            e,
        )
    try:
        yield pinned
    finally:
        shutil.rmtree(pin, ignore_errors=True)


def _link_or_copy(source: str | Path, target: str | Path) -> None:
    """Hard-link ``source`` as ``target``; copy it where the file system refuses links."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _sweep_pins(checkpoints: Path, keep: Path) -> None:
    """Remove pins older than :data:`STALE_PIN_S` (left by embeds that were killed)."""
    for stale in older_than(checkpoints, f".{PIN_PREFIX}.*.tmp", STALE_PIN_S):
        if stale != keep:
            shutil.rmtree(stale, ignore_errors=True)
