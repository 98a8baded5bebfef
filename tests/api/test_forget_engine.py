"""Engine.forget_user without a graph.

The shopper's vector leaves the serving state and the caches, their next request is
answered as a never-seen id's, and the other users' answers do not change.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from kgrec.api.engine import Engine
from kgrec.api.synthetic import synthetic_artifacts
from kgrec.api.wiring import engine_options
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder


@pytest.fixture(scope="module")
def synthetic(encoder: TextEncoder) -> ArtifactSet:
    return synthetic_artifacts(500, 50, text_dim=encoder.dim, seed=5)


def _ids(engine: Engine, user: str, query: str | None = None) -> list[str]:
    return [i.id for i in engine.recommend(user, k=10, query=query).items]


def test_a_forgotten_version_user_is_served_as_never_seen(
    settings: Settings, synthetic: ArtifactSet, encoder: TextEncoder
) -> None:
    engine = Engine(engine_options(settings), synthetic, encoder)
    before = {u: _ids(engine, u) for u in ("u6", "u8")}
    assert engine.recommend("u7", k=10).user_known
    assert _ids(engine, "u7") != _ids(engine, "never-seen")
    users = engine.index_info()["users"]

    assert engine.forget_user("u7") is True
    answer = engine.recommend("u7", k=10)
    stranger = engine.recommend("never-seen", k=10)
    assert not answer.user_known and answer.strategy == stranger.strategy
    assert [i.id for i in answer.items] == [i.id for i in stranger.items]
    assert _ids(engine, "u7", query="jacket") == _ids(engine, "never-seen", query="jacket")
    assert {u: _ids(engine, u) for u in before} == before
    catalogue = engine._state.catalogue
    assert "u7" not in catalogue.user_row and engine.index_info()["users"] == users - 1
    assert not catalogue.user_graph[7].any()  # the vector is gone, not only unreachable
    assert synthetic.user_graph[7].any()  # the loaded version's arrays are not changed
    assert engine.forget_user("u7") is False


def test_an_online_user_and_the_caches_are_forgotten(
    settings: Settings, synthetic: ArtifactSet, encoder: TextEncoder
) -> None:
    engine = Engine(engine_options(settings), synthetic, encoder)
    state = engine._state
    vector = np.ones(state.catalogue.graph_dim, np.float32)
    overlay = state.overlay.with_users({"web-1": vector}, stamp=1)
    engine._state = dataclasses.replace(state, overlay=overlay)
    engine._history.online["web-1"] = {"p1": None}
    engine._history.remember_purchases("web-1", frozenset({"p2"}))
    assert engine.recommend("web-1", k=5).user_known

    assert engine.forget_user("web-1") is True
    assert "web-1" not in engine._state.overlay.users
    assert "web-1" not in engine._state.overlay.user_stamps
    assert "web-1" not in engine._history.online and "web-1" not in engine._history.purchases
    assert not engine.recommend("web-1", k=5).user_known
    assert engine.forget_user("web-1") is False
