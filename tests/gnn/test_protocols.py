"""Evaluation protocols: random per-user and global-time-cut replay plans, end to end."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import get_args

import pytest
import torch
from torch import Tensor

from kgrec.api.cli.evaluate import ProtocolName
from kgrec.errors import ConfigError
from kgrec.gnn.baselines import ItemKNN, Popularity, Recommender
from kgrec.gnn.config import GNNConfig
from kgrec.gnn.evaluation import run_evaluation
from kgrec.gnn.protocols import PROTOCOLS, Protocol, build_plan, random_split, replay_split
from kgrec.gnn.ranking import RankerConfig, StagedRanking
from kgrec.gnn.ranking.config import StagedConfig
from kgrec.gnn.report import EvaluationReport
from kgrec.gnn.splits import Interactions, SplitPlan, assert_no_leakage, build_splits, pair_keys
from tests.utils.snapshots import clustered_snapshot


def keys(pairs: Tensor, num_items: int) -> set[int]:
    return set(pair_keys(pairs, num_items).tolist())


def per_user_history(sizes: dict[int, int], num_items: int = 40) -> Interactions:
    """User u interacts with products 0 .. sizes[u]-1 at timestamps 100 u + product."""
    users, items = [], []
    for user, n in sizes.items():
        users += [user] * n
        items += list(range(n))
    u, i = torch.tensor(users), torch.tensor(items)
    return Interactions(u, i, u * 100 + i, max(sizes) + 1, num_items)


def test_random_splits_every_user_80_10_10() -> None:
    inter = per_user_history({0: 20, 1: 20, 2: 30, 3: 10, 4: 3, 5: 2, 6: 1, 7: 20})
    plan = random_split(inter, seed=0)
    assert set(plan.views) == {"random"}
    test = plan.views["random"].test
    train_n = Counter(plan.train[0].tolist())
    val_n = Counter(plan.val[0].tolist())
    test_n = Counter(test[0].tolist())
    expected = {  # user: (train, val, test)
        0: (16, 2, 2),
        1: (16, 2, 2),
        2: (24, 3, 3),
        3: (8, 1, 1),
        4: (1, 1, 1),
        5: (2, 0, 0),  # fewer than 3 interactions: all in training
        6: (1, 0, 0),
        7: (16, 2, 2),
    }
    for user, (tr, va, te) in expected.items():
        assert (train_n[user], val_n[user], test_n[user]) == (tr, va, te), user
    # every distinct pair in exactly one part
    p = inter.num_items
    parts = [keys(plan.train, p), keys(plan.val, p), keys(test, p)]
    assert sum(len(s) for s in parts) == len(inter.users)
    assert set().union(*parts) == keys(torch.stack([inter.users, inter.items]), p)
    assert_no_leakage(plan)
    # random, not temporal: the test pairs are not each user's latest ones
    # (product k of a user has timestamp 100 u + k)
    sizes = {0: 20, 1: 20, 2: 30, 3: 10, 4: 3, 7: 20}
    latest = {(u, n - 1 - k) for u, n in sizes.items() for k in range(expected[u][2])}
    assert {(int(u), int(i)) for u, i in test.T} != latest


def test_random_is_deterministic_in_the_seed() -> None:
    inter = per_user_history({u: 20 for u in range(10)})
    a, b, c = (random_split(inter, seed=s) for s in (3, 3, 4))
    for field in ("train", "val"):
        assert torch.equal(getattr(a, field), getattr(b, field))
    assert torch.equal(a.views["random"].test, b.views["random"].test)
    p = inter.num_items
    assert keys(a.views["random"].test, p) != keys(c.views["random"].test, p)


def test_replay_cuts_all_interactions_at_one_time() -> None:
    g = torch.Generator().manual_seed(0)
    # 20 early users x 10 early products, ts 0-999; late newcomers: user 20 and
    # product 10 appear only at ts >= 2000 (the last 10 %)
    n_early = 900
    users = torch.randint(0, 20, (n_early,), generator=g)
    items = torch.randint(0, 10, (n_early,), generator=g)
    ts = torch.randint(0, 1000, (n_early,), generator=g)
    inter = Interactions(users, items, ts, 21, 11).dedup()
    late_users = torch.tensor([20, 20, 20, 0, 1, 2])
    late_items = torch.tensor([0, 1, 10, 10, 10, 10])
    late_ts = torch.arange(6) + 2000
    # a duplicate of an early pair, its latest event late: it must not be trained on
    dup_user, dup_item = int(inter.users[0]), int(inter.items[0])
    inter = Interactions(
        torch.cat([inter.users, late_users, torch.tensor([dup_user])]),
        torch.cat([inter.items, late_items, torch.tensor([dup_item])]),
        torch.cat([inter.ts, late_ts, torch.tensor([3000])]),
        21,
        11,
    )
    plan = replay_split(inter, seed=0)
    dedup = inter.dedup()
    total = len(dedup.users)
    test = plan.views["replay"].test
    assert set(plan.views) == {"replay"}
    assert test.shape[1] == round(total * 0.1) and plan.val.shape[1] == round(total * 0.1)
    assert plan.train.shape[1] + plan.val.shape[1] + test.shape[1] == total
    when = {
        (int(u), int(i)): int(t) for u, i, t in zip(dedup.users, dedup.items, dedup.ts, strict=True)
    }

    def times(pairs: Tensor) -> list[int]:
        return [when[(int(u), int(i))] for u, i in pairs.T]

    assert max(times(plan.train)) <= min(times(plan.val))
    assert max(times(plan.val)) <= min(times(test))
    # newcomers after the cut: nothing to train on, tested with an empty history
    assert 20 not in plan.train[0].tolist() and 10 not in plan.train[1].tolist()
    assert 20 in test[0].tolist() and 10 in test[1].tolist()
    assert plan.cold_users.tolist() == [20] and plan.cold_items.tolist() == [10]
    assert 20 not in plan.history(plan.views["replay"])[0].tolist()
    assert (dup_user, dup_item) in {(int(u), int(i)) for u, i in test.T}
    assert dup_user * 11 + dup_item not in keys(plan.train, 11) | keys(plan.val, 11)
    assert_no_leakage(plan)


def test_replay_fractions_are_parameters() -> None:
    inter = per_user_history({u: 20 for u in range(10)})
    plan = replay_split(inter, test_fraction=0.2, val_fraction=0.05)
    assert (plan.train.shape[1], plan.val.shape[1]) == (150, 10)
    assert plan.views["replay"].test.shape[1] == 40
    with pytest.raises(ConfigError, match="no interaction to train on"):
        replay_split(inter, test_fraction=0.5, val_fraction=0.5)


def test_build_plan_dispatches_and_rejects_unknown_protocols() -> None:
    inter = per_user_history({u: 20 for u in range(12)})
    plans: dict[str, SplitPlan] = {p: build_plan(inter, p, seed=1) for p in PROTOCOLS}
    assert set(plans["kgrec"].views) == set(build_splits(inter, seed=1).views)
    assert set(plans["random"].views) == {"random"}
    assert set(plans["replay"].views) == {"replay"}
    with pytest.raises(ConfigError, match=r"protocol='temporal'.*'kgrec', 'random', 'replay'"):
        build_plan(inter, "temporal", seed=1)
    # the CLI's --protocol choices are the protocols
    assert get_args(ProtocolName) == get_args(Protocol) == PROTOCOLS


def cheap_methods(seed: int) -> list[Recommender]:
    """Popularity, ItemKNN and the staged ranking over them (it trains on plan.val)."""
    pop, knn = Popularity(), ItemKNN()
    staged = StagedRanking(
        {pop.name: pop, knn.name: knn},
        config=StagedConfig(
            per_generator=20,
            fresh_generators=(knn.name,),
            fresh_popularity=(),  # kg_knn / text_knn are not among these generators
            fresh_history=(),
            without_history=pop.name,  # nor is peer_popularity
            cold_users=10,
            min_cold_history=3,
            ranker=RankerConfig(rounds=20, min_data_in_leaf=5, seed=seed),
        ),
    )
    return [pop, knn, staged]


@pytest.mark.parametrize("protocol", ["random", "replay"])
def test_run_evaluation_with_a_protocol(protocol: Protocol, tmp_path: Path) -> None:
    snap = clustered_snapshot()
    result = run_evaluation(
        snap,
        GNNConfig(hidden_dim=8, epochs=1),
        text_dim=8,
        seeds=(0, 1),
        methods=cheap_methods,
        show_progress=False,
        protocol=protocol,
    )
    assert result.protocol == protocol
    assert set(result.runs) == {protocol}
    assert set(result.runs[protocol]) == {"popularity", "item_knn", "kgrec"}
    assert all(len(rows) == 2 for rows in result.runs[protocol].values())
    assert result.sizes[protocol]["pairs"] > 0 and result.sizes["val"]["pairs"] > 0
    summary = result.summary()[protocol]
    # the two taste clusters are learnable from co-occurrence under either protocol
    assert summary["item_knn"]["recall@20"][0] > summary["popularity"]["recall@20"][0]
    paths = EvaluationReport(result, command="pytest").write(tmp_path)
    assert f"{protocol}.png" in {p.name for p in paths}
    payload = json.loads((tmp_path / "report.json").read_text())
    assert payload["protocol"] == protocol
    assert payload["ratios"]["kgrec"][protocol]["best_baseline"] in {"popularity", "item_knn"}
    markdown = (tmp_path / "report.md").read_text()
    assert markdown.startswith(f"# kgrec evaluation: protocol `{protocol}`")
    assert f"| {protocol} | **kgrec** |" in markdown and f"{protocol}: kgrec / " in markdown


def test_random_history_keeps_each_users_pairs_in_time_order() -> None:
    """Validation pairs drawn from anywhere in a history are read where they happened."""
    inter = per_user_history({u: 30 for u in range(6)})  # product i at time 100 u + i
    plan = random_split(inter, seed=0)
    history = plan.history(plan.views["random"])
    assert keys(history, 40) == keys(plan.train, 40) | keys(plan.val, 40)
    for user in range(6):
        items = history[1][history[0] == user].tolist()
        assert items == sorted(items), user
    interleaved = [
        u
        for u in range(6)
        if plan.val[1][plan.val[0] == u].min() < plan.train[1][plan.train[0] == u].max()
    ]
    assert interleaved  # some validation pair lies before a training pair
