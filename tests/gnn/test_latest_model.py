"""The latest model: installs take the latest lock, and an embed pins the pair it read."""

from __future__ import annotations

import threading
from pathlib import Path

from kgrec._locks import exclusive_lock
from kgrec.gnn.latest_model import (
    LATEST_CHECKPOINT,
    LATEST_LOCK,
    make_latest_checkpoint,
    pinned_latest,
    ranking_dir_of,
)


def _model(checkpoints: Path, name: str) -> Path:
    """A stand-in checkpoint ``<name>.pt`` holding its name, with a ranker saying so."""
    checkpoints.mkdir(parents=True, exist_ok=True)
    path = checkpoints / f"{name}.pt"
    path.write_text(name)
    ranking = ranking_dir_of(path)
    ranking.mkdir()
    (ranking / "ranker.txt").write_text(f"ranker of {name}")
    return path


def _pair(model: Path) -> tuple[str, str]:
    return model.read_text(), (ranking_dir_of(model) / "ranker.txt").read_text()


def test_a_pinned_model_keeps_its_own_ranker_while_another_is_installed(tmp_path: Path) -> None:
    checkpoints = tmp_path / "checkpoints"
    make_latest_checkpoint(_model(checkpoints, "old"))
    newer = _model(checkpoints, "new")
    with pinned_latest(checkpoints) as pinned:
        assert pinned != checkpoints / LATEST_CHECKPOINT
        make_latest_checkpoint(newer)  # a `kgrec train` finishing while an embed runs
        assert _pair(pinned) == ("old", "ranker of old")
        assert _pair(checkpoints / LATEST_CHECKPOINT) == ("new", "ranker of new")
    assert not pinned.parent.exists()  # the pin is removed with the block
    assert _pair(checkpoints / LATEST_CHECKPOINT) == ("new", "ranker of new")


def test_without_a_latest_model_the_path_is_given_as_it_is(tmp_path: Path) -> None:
    with pinned_latest(tmp_path / "none") as pinned:
        assert pinned == tmp_path / "none" / LATEST_CHECKPOINT
    with pinned_latest(tmp_path) as pinned:
        assert pinned == tmp_path / LATEST_CHECKPOINT


def test_an_install_waits_for_the_latest_lock(tmp_path: Path) -> None:
    checkpoints = tmp_path / "checkpoints"
    make_latest_checkpoint(_model(checkpoints, "old"))
    newer = _model(checkpoints, "new")
    done = threading.Event()

    def install() -> None:
        make_latest_checkpoint(newer)
        done.set()

    with exclusive_lock(checkpoints / LATEST_LOCK):
        worker = threading.Thread(target=install)
        worker.start()
        assert not done.wait(0.5)  # held: the install cannot move the files
        assert _pair(checkpoints / LATEST_CHECKPOINT) == ("old", "ranker of old")
    worker.join(timeout=30)
    assert done.is_set()
    assert _pair(checkpoints / LATEST_CHECKPOINT) == ("new", "ranker of new")
