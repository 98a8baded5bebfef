"""Experiments in the service, on the trained genre shop (tests/utils/shop.py).

Every answer carries a request id and its arm, the arm's overrides change the
ranking, feedback with a request id lands in the log, the log outlives the service,
and forgetting a shopper removes their lines.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from kgrec.api.experiments.arms import RankingOverrides
from kgrec.api.experiments.assignment import arm_of
from kgrec.api.experiments.config import read_experiments
from kgrec.api.experiments.log import EventLog
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.graph import GraphStore
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder
from tests.utils.experiments import HEX32, recommend
from tests.utils.shop import Shop, load_genre_shop, shop_client, shop_engine

pytestmark = [pytest.mark.slow, pytest.mark.neo4j]

KEY = {"X-API-Key": "k"}  # shop_settings' api_key
EXPERIMENTS = """
[[experiments]]
name = "slots"

[[experiments.arms]]
name = "control"
share = 0.34
fresh_share = 0.0

[[experiments.arms]]
name = "fresh"
share = 0.33
fresh_share = 0.5

[[experiments.arms]]
name = "fused"
share = 0.33
ranker = false
"""
NEW = [
    {"id": f"horror-new-{n}", "title": f"The haunted horror {n}", "category_ids": ["cat-horror"]}
    for n in range(6)
]
NEW_IDS = {p["id"] for p in NEW}


@pytest.fixture
def in_graph(shop: tuple[Shop, ArtifactSet], store: GraphStore) -> tuple[Shop, ArtifactSet]:
    """The trained shop, written again into the emptied graph (the service writes there)."""
    load_genre_shop(store)
    return shop


@pytest.fixture
def exp_settings(shop_settings: Settings, tmp_path: Path) -> Settings:
    path = tmp_path / "experiments.toml"
    path.write_text(EXPERIMENTS)
    return shop_settings.updated(data_dir=tmp_path / "data", serving={"experiments_file": path})


def _user_in(settings: Settings, users: list[str], arm: str) -> str:
    assert settings.serving.experiments_file is not None
    experiment = read_experiments(settings.serving.experiments_file).active
    assert experiment is not None
    return next(u for u in users if arm_of(experiment, u).name == arm)


def test_answers_carry_their_arm_and_the_arm_changes_the_ranking(
    in_graph: tuple[Shop, ArtifactSet],
    exp_settings: Settings,
    encoder: TextEncoder,
    store: GraphStore,
) -> None:
    described, artifacts = in_graph
    users = sorted(described.favourite)
    with shop_client(exp_settings, artifacts, encoder, store) as client:
        assert client.post("/items", json={"items": NEW}, headers=KEY).status_code == 201
        answers = {}
        for arm in ("control", "fresh", "fused"):
            user = _user_in(exp_settings, users, arm)
            answers[arm] = recommend(client, user_id=user)
            assert answers[arm]["arm"] == {"experiment": "slots", "arm": arm}
            again = recommend(client, user_id=user)
            assert again["arm"] == answers[arm]["arm"]
            assert again["request_id"] != answers[arm]["request_id"]
        control, fresh = answers["control"], answers["fresh"]
        assert control["ranking"] == fresh["ranking"] == "learned"
        assert answers["fused"]["ranking"] == "fused"
        assert not NEW_IDS & {i["id"] for i in control["items"]}
        fresh_at = [i for i, item in enumerate(fresh["items"]) if item["id"] in NEW_IDS]
        assert fresh_at == [1, 3, 5, 7, 9]
        assert all(fresh["items"][i]["score"]["ranker"] is None for i in fresh_at)

        searched = client.post(
            "/search",
            json={"query": "horror", "user_id": _user_in(exp_settings, users, "fused")},
        ).json()
        assert searched["arm"]["arm"] == "fused" and searched["ranking"] == "fused"
        assert HEX32.match(searched["request_id"])

        anonymous = recommend(client, session_id="visit-42")
        assert exp_settings.serving.experiments_file is not None
        experiment = read_experiments(exp_settings.serving.experiments_file).active
        assert experiment is not None
        assert anonymous["arm"]["arm"] == arm_of(experiment, "visit-42").name
        nobody = recommend(client)
        assert nobody["arm"] is None

    records = list(EventLog.in_data_dir(exp_settings.data_dir).read())
    impressions = [r for r in records if r["type"] == "impression"]
    assert len(impressions) == 8  # 6 by users, a search, a session; none for nobody
    first = next(r for r in impressions if r["request_id"] == fresh["request_id"])
    assert first["arm"] == "fresh" and first["items"] == [i["id"] for i in fresh["items"]]
    assert next(r for r in impressions if r["session_id"] == "visit-42")["user_id"] is None


def test_feedback_is_logged_survives_a_restart_and_is_forgotten(
    in_graph: tuple[Shop, ArtifactSet],
    exp_settings: Settings,
    encoder: TextEncoder,
    store: GraphStore,
) -> None:
    described, artifacts = in_graph
    shopper, other = "exp-shopper-9", sorted(described.favourite)[0]
    log = EventLog.in_data_dir(exp_settings.data_dir)
    with shop_client(exp_settings, artifacts, encoder, store) as client:
        mine = recommend(client, user_id=shopper)
        theirs = recommend(client, user_id=other)
        events = [
            {
                "user_id": shopper,
                "product_id": mine["items"][0]["id"],
                "kind": "click",
                "request_id": mine["request_id"],
            },
            {
                "user_id": other,
                "product_id": theirs["items"][0]["id"],
                "kind": "purchase",
                "request_id": theirs["request_id"],
            },
            {"user_id": other, "product_id": theirs["items"][1]["id"], "kind": "view"},
        ]
        r = client.post("/events", json={"events": events}, headers=KEY)
        assert r.status_code == 201, r.text
        bad = {**events[0], "request_id": "not-an-answer"}
        assert client.post("/events", json={"events": [bad]}, headers=KEY).status_code == 422
    logged = [r for r in log.read() if r["type"] == "event"]
    assert [(e["request_id"], e["kind"]) for e in logged] == [
        (mine["request_id"], "click"),
        (theirs["request_id"], "purchase"),
    ]

    with shop_client(exp_settings, artifacts, encoder, store) as client:  # a restart
        later = recommend(client, user_id=shopper)
        assert later["arm"] == mine["arm"]
        assert len([r for r in log.read() if r["type"] == "impression"]) == 3
        r = client.delete(f"/users/{shopper}", headers=KEY)
        assert r.status_code == 200, r.text
        assert r.json()["experiment_log_lines"] == 3  # two impressions and a click
    held = [
        p
        for p in exp_settings.data_dir.rglob("*")
        if p.is_file() and shopper.encode() in p.read_bytes()
    ]
    assert held == []
    assert {r["user_id"] for r in log.read()} == {other}


def test_an_arms_query_weight_changes_a_search(
    shop: tuple[Shop, ArtifactSet], shop_settings: Settings, encoder: TextEncoder
) -> None:
    described, artifacts = shop
    engine = shop_engine(shop_settings, artifacts, encoder, None)
    fan = described.fans("comedy")[0]
    weighted = engine.search("horror", user_id=fan, k=5)
    text_off = RankingOverrides(w_query=0.0)
    ignored = engine.search("horror", user_id=fan, k=5, overrides=replace(text_off, w_link=0.0))
    assert [described.genre_of[i.id] for i in weighted.items] == ["horror"] * 5
    assert [described.genre_of[i.id] for i in ignored.items].count("comedy") >= 4
    # "horror" names the shop's category: the link alone still answers with horror
    linked = engine.search("horror", user_id=fan, k=5, overrides=text_off)
    assert [described.genre_of[i.id] for i in linked.items] == ["horror"] * 5
