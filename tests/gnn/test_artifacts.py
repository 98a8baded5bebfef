"""An artifact version is whole on disk before a pointer can name it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kgrec.api.synthetic import synthetic_artifacts
from kgrec.gnn.artifacts import LATEST


def test_every_file_and_directory_of_a_version_is_synced_before_it_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    fsync = os.fsync

    def recording_fsync(fd: int) -> None:  # the real fsync, and which file it was
        synced.append(str(Path(f"/proc/self/fd/{fd}").readlink()))
        fsync(fd)

    def nested(version: Path) -> None:
        (version / "ranking").mkdir()
        (version / "ranking" / "table.npz").write_bytes(b"a table")

    monkeypatch.setattr(os, "fsync", recording_fsync)
    artifacts = synthetic_artifacts(20, 5, graph_dim=4, text_dim=4, clusters=2, seed=0)
    final = artifacts.save(tmp_path, writers=[nested], promote=True)
    names = {Path(p).name for p in synced}
    written = {p.name for p in final.rglob("*")}
    assert written - names == set(), "files or directories never synced"
    assert str(tmp_path) in synced, "the directory the version was renamed into"
    assert (tmp_path / LATEST).read_text() == final.name
