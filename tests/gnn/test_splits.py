"""Split builders never leak held-out interactions into training or model input."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from kgrec.gnn.retrain import gate_views
from kgrec.gnn.splits import (
    Interactions,
    assert_no_leakage,
    build_splits,
    pair_keys,
    without_validation_history,
)


def random_interactions(
    seed: int, users: int = 120, items: int = 90, n: int = 4000
) -> Interactions:
    g = torch.Generator().manual_seed(seed)
    return Interactions(
        torch.randint(0, users, (n,), generator=g),
        torch.randint(0, items, (n,), generator=g),
        torch.randint(0, 10_000, (n,), generator=g),
        users,
        items,
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_views_are_disjoint_from_training(seed: int) -> None:
    inter = random_interactions(seed)
    plan = build_splits(inter, seed=seed)
    train = set(pair_keys(plan.train, plan.num_items).tolist())
    val = set(pair_keys(plan.val, plan.num_items).tolist())
    assert train.isdisjoint(val)
    assert len(plan.cold_items) > 0 and len(plan.cold_users) > 0
    for view in plan.views.values():
        test = set(pair_keys(view.test, plan.num_items).tolist())
        assert test, view.name
        assert test.isdisjoint(train) and test.isdisjoint(val)
        assert test.isdisjoint(pair_keys(view.revealed, plan.num_items).tolist())
    assert not set(plan.train[1].tolist()) & set(plan.cold_items.tolist())
    assert not set(plan.train[0].tolist()) & set(plan.cold_users.tolist())
    # every distinct interaction lands somewhere exactly once (train/val/warm/cold views)
    dedup = inter.dedup()
    everything = set(pair_keys(torch.stack([dedup.users, dedup.items]), inter.num_items).tolist())
    placed = (
        train
        | val
        | set(pair_keys(plan.views["warm"].test, plan.num_items).tolist())
        | set(pair_keys(plan.views["cold_item"].test, plan.num_items).tolist())
        | set(pair_keys(plan.views["cold_user@0"].test, plan.num_items).tolist())
    )
    cold_pairs = torch.isin(dedup.items, plan.cold_items) & torch.isin(dedup.users, plan.cold_users)
    assert placed == everything - set(
        pair_keys(torch.stack([dedup.users, dedup.items])[:, cold_pairs], inter.num_items).tolist()
    )


def test_cold_user_reveals_earliest_interactions() -> None:
    plan = build_splits(random_interactions(3), seed=3)
    inter = random_interactions(3).dedup()
    ts = {
        (int(u), int(i)): int(t) for u, i, t in zip(inter.users, inter.items, inter.ts, strict=True)
    }
    view = plan.views["cold_user@3"]
    for user in plan.cold_users.tolist():
        shown = [ts[(user, int(i))] for i in view.revealed[1][view.revealed[0] == user]]
        hidden = [ts[(user, int(i))] for i in view.test[1][view.test[0] == user]]
        assert len(shown) == 3
        assert max(shown) <= min(hidden)
    assert plan.views["cold_user@0"].revealed.shape[1] == 0


def test_warm_holdout_is_the_latest_interactions() -> None:
    inter = Interactions(
        torch.zeros(10, dtype=torch.long),
        torch.arange(10),
        torch.arange(10) * 10,
        num_users=1,
        num_items=20,
    )
    plan = build_splits(inter, seed=0, cold_item_fraction=0.0, cold_user_fraction=0.0)
    assert plan.views["warm"].test[1].tolist() == [8, 9]  # 20 % of 10, latest
    assert plan.val[1].tolist() == [7]
    assert sorted(plan.train[1].tolist()) == list(range(7))


def test_duplicate_events_of_a_held_out_pair_stay_out_of_training() -> None:
    inter = random_interactions(4)
    doubled = Interactions(
        torch.cat([inter.users, inter.users]),
        torch.cat([inter.items, inter.items]),
        torch.cat([inter.ts, inter.ts - 1]),
        inter.num_users,
        inter.num_items,
    )
    assert_no_leakage(build_splits(doubled, seed=4))


def test_the_leakage_check_catches_a_leak() -> None:
    plan = build_splits(random_interactions(5), seed=5)
    leaked = replace(plan, train=torch.cat([plan.train, plan.views["warm"].test[:, :1]], dim=1))
    with pytest.raises(AssertionError, match="warm: test pair in training"):
        assert_no_leakage(leaked)
    cold = replace(plan, train=torch.cat([plan.train, plan.views["cold_item"].test[:, :1]], 1))
    with pytest.raises(AssertionError, match="cold item in training"):
        assert_no_leakage(cold)


def test_a_plan_scored_on_its_validation_pairs_reads_the_training_pairs_only() -> None:
    """The retraining gate scores the validation pairs: its history is the training pairs."""
    plan = build_splits(random_interactions(6), seed=6)

    def keys(pairs: torch.Tensor) -> set[int]:
        return set(pair_keys(pairs, plan.num_items).tolist())

    assert keys(plan.history(plan.views["warm"])) == keys(plan.train) | keys(plan.val)
    gated = without_validation_history(plan)
    known = torch.zeros(plan.num_users, dtype=torch.bool)
    known[: plan.num_users // 2] = True  # the gate's known / new users sub-views too
    for view in gate_views(plan, known).values():
        assert keys(gated.history(view)) == keys(plan.train), view.name
