"""A forget landing while the service swaps in a new artifact version is not undone.

The watcher (api/reloader.py) loads the version LATEST names and builds its
serving state; a ``DELETE /users/{id}`` landing meanwhile rewrote the version's
files on disk and cleared the state then served, but the version already in
memory still held the shopper: once installed, it served them again (their
vector, ``user_known``) until a restart.
"""

from __future__ import annotations

import dataclasses
import shutil
import threading
from pathlib import Path

import pytest

from kgrec.api.forget import forget_user
from kgrec.api.reloader import ArtifactWatcher
from kgrec.api.state import ServedState
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.gnn.versions import VersionStore
from kgrec.graph import GraphStore
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder
from tests.utils.online import inductive_engine

SHOPPER = "u01"  # a shopper of the sample's version
WAIT_S = 3.0


def test_a_forget_landing_while_a_version_is_swapped_in_is_not_undone(
    sample_store: GraphStore,
    settings: Settings,
    sample_artifacts: ArtifactSet,
    encoder: TextEncoder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    version = sample_artifacts.manifest.version
    root = tmp_path / "artifacts"
    assert sample_artifacts.path is not None
    shutil.copytree(sample_artifacts.path, root / version)
    VersionStore(root).promote(version, "test: the version to swap in")
    # the engine serves an older version (the same files under another name)
    older = dataclasses.replace(
        sample_artifacts,
        manifest=dataclasses.replace(sample_artifacts.manifest, version="older"),
    )
    engine = inductive_engine(settings, older, encoder, sample_store)
    assert engine.recommend(SHOPPER, k=3).user_known
    forgot = threading.Event()
    served_forget = engine.forget_user

    def forget_in_engine(user_id: str) -> bool:
        held = served_forget(user_id)
        forgot.set()
        return held

    monkeypatch.setattr(engine, "forget_user", forget_in_engine)
    errors: list[BaseException] = []

    def delete() -> None:
        try:
            forget_user(
                SHOPPER, data_dir=tmp_path, configured_salt=None, store=sample_store, engine=engine
            )
        except BaseException as e:  # surfaced below
            errors.append(e)

    deleter = threading.Thread(target=delete)
    build = engine._build

    def build_while_a_forget_lands(artifacts: ArtifactSet) -> ServedState:
        state = build(artifacts)  # the loaded version holds the shopper
        deleter.start()
        forgot.wait(WAIT_S)  # lands now, unless the swap holds it off until installed
        return state

    monkeypatch.setattr(engine, "_build", build_while_a_forget_lands)
    watcher = ArtifactWatcher(engine, root, 3600.0)  # checked by hand
    assert watcher.check() == version
    deleter.join(60)
    assert not deleter.is_alive() and not errors
    assert engine.version == version
    assert SHOPPER not in engine._state.catalogue.user_row  # served again before the fix
    assert not engine.recommend(SHOPPER, k=3).user_known
    assert engine.unserved("User", [SHOPPER]) == [SHOPPER]
