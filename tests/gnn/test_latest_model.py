"""The latest model: installs take the latest lock, and an embed pins the pair it read."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from kgrec._locks import exclusive_lock
from kgrec.api.wiring import pipeline_options
from kgrec.errors import ModelError
from kgrec.gnn.latest_model import (
    LATEST_CHECKPOINT,
    LATEST_LOCK,
    STALE_PIN_S,
    make_latest_checkpoint,
    pinned_latest,
    ranking_dir_of,
)
from kgrec.gnn.pipeline import write_artifacts
from kgrec.graph import GraphStore
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder
from tests.utils.settings import make_settings
from tests.utils.shop import trained_shop


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


def test_a_pin_left_by_a_killed_embed_is_removed_by_a_later_one(tmp_path: Path) -> None:
    checkpoints = tmp_path / "checkpoints"
    make_latest_checkpoint(_model(checkpoints, "old"))
    stale, recent = checkpoints / ".pinned.1-2.tmp", checkpoints / ".pinned.3-4.tmp"
    for pin in (stale, recent):
        pin.mkdir()
        (pin / LATEST_CHECKPOINT).write_text("old")
    then = time.time() - STALE_PIN_S - 60
    os.utime(stale, (then, then))
    with pinned_latest(checkpoints):
        pass
    assert not stale.exists()
    assert recent.exists()  # perhaps an embed running now


def test_an_embed_names_a_damaged_latest_model_by_its_own_path(
    encoder: TextEncoder, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    checkpoints = pipeline_options(settings).paths.checkpoints
    checkpoints.mkdir(parents=True)
    (checkpoints / LATEST_CHECKPOINT).write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError) as e:
        write_artifacts(pipeline_options(settings), encoder)
    assert f"cannot read the checkpoint {checkpoints / LATEST_CHECKPOINT}:" in str(e.value)
    assert "pinned" not in str(e.value)


def test_where_links_are_refused_the_pin_is_a_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoints = tmp_path / "checkpoints"
    make_latest_checkpoint(_model(checkpoints, "old"))

    def refused(source: object, target: object) -> None:  # as on vfat, SMB, some FUSE mounts
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", refused)
    with pinned_latest(checkpoints) as pinned:
        assert pinned != checkpoints / LATEST_CHECKPOINT
        make_latest_checkpoint(_model(checkpoints, "new"))
        assert _pair(pinned) == ("old", "ranker of old")


def test_where_no_pin_can_be_made_the_latest_model_is_embedded_unpinned(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checkpoints = tmp_path / "checkpoints"
    make_latest_checkpoint(_model(checkpoints, "old"))
    (checkpoints / LATEST_LOCK).unlink()
    (checkpoints / LATEST_LOCK).mkdir()  # the lock cannot be opened
    with pinned_latest(checkpoints) as pinned:
        assert pinned == checkpoints / LATEST_CHECKPOINT
    assert "cannot pin" in caplog.text
    assert not list(checkpoints.glob(".pinned*"))


def test_a_pin_removed_while_pins_are_swept_is_skipped(tmp_path: Path) -> None:
    checkpoints = tmp_path / "checkpoints"
    make_latest_checkpoint(_model(checkpoints, "old"))
    (checkpoints / ".pinned.5-6.tmp").symlink_to(tmp_path / "gone")  # stat() finds nothing
    with pinned_latest(checkpoints) as pinned:
        assert pinned != checkpoints / LATEST_CHECKPOINT  # pinned all the same
        assert _pair(pinned) == ("old", "ranker of old")


def test_a_versions_checkpoint_comes_with_the_versions_ranker(tmp_path: Path) -> None:
    version = tmp_path / "v"
    (version / "ranking").mkdir(parents=True)
    assert ranking_dir_of(version / "checkpoint.pt") == version / "ranking"
    assert ranking_dir_of(tmp_path / "abc.pt") == tmp_path / "abc.ranking"


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


@pytest.mark.slow
def test_a_model_installed_while_an_embed_runs_does_not_enter_its_version(
    _embedded_store: GraphStore, encoder: TextEncoder, tmp_path: Path
) -> None:
    """The embed writes the ranker of the model it embedded with, not the newest one's."""
    settings: Settings = make_settings(
        tmp_path, gnn={"hidden_dim": 16, "epochs": 3, "batch_size": 64}
    )
    _, first = trained_shop(_embedded_store, settings, encoder)  # latest.pt + its ranker
    assert first.path is not None
    checkpoints = pipeline_options(settings).paths.checkpoints
    latest = checkpoints / LATEST_CHECKPOINT
    ranker = (ranking_dir_of(latest) / "ranker.txt").read_text()
    second = checkpoints / "second.pt"
    shutil.copy2(latest, second)
    shutil.copytree(ranking_dir_of(latest), ranking_dir_of(second))
    (ranking_dir_of(second) / "ranker.txt").write_text("the second model's ranker")

    def a_train_finishes(version: Path) -> None:  # while the version is being written
        make_latest_checkpoint(second)

    artifacts = write_artifacts(pipeline_options(settings), encoder, writers=[a_train_finishes])
    assert artifacts.path is not None
    assert (artifacts.path / "ranking" / "ranker.txt").read_text() == ranker
    assert (ranking_dir_of(latest) / "ranker.txt").read_text() == "the second model's ranker"
    assert not list(checkpoints.glob(".pinned*"))

    # the first version's own model, embedded again: its ranker comes with it, and
    # promoting the version makes that model the latest, as `kgrec artifacts promote` does
    again = write_artifacts(pipeline_options(settings), encoder, first.path / "checkpoint.pt")
    assert again.path is not None
    assert (again.path / "ranking" / "ranker.txt").read_text() == ranker
    assert (ranking_dir_of(latest) / "ranker.txt").read_text() == ranker
    assert latest.read_bytes() == (first.path / "checkpoint.pt").read_bytes()
