"""The ranker's training groups: reveals, folds, and generators refitted without a fold."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from kgrec.errors import ConfigError
from kgrec.gnn.baselines import ItemKNN, Popularity, Recommender, item_popularity
from kgrec.gnn.ranking.config import StagedConfig
from kgrec.gnn.ranking.recency import RecentItemKNN
from kgrec.gnn.ranking.training import FeatureStage, refitted_without, reveal, training_groups
from tests.utils.ranking import taste_clusters


def _pairs_of(pairs: Tensor, user: int) -> list[int]:
    return pairs[1, pairs[0] == user].tolist()


def test_an_earliest_reveal_keeps_each_users_first_products_in_order() -> None:
    # user 0 acted on 5, 3, 9, 1 (oldest first), user 1 on 7, 2; user 2 is not revealed
    train = torch.tensor([[0, 1, 0, 0, 2, 1, 0], [5, 7, 3, 9, 4, 2, 1]])
    gen = torch.Generator().manual_seed(0)
    shown = reveal(train, torch.tensor([0, 1]), 2, gen, "earliest")
    assert _pairs_of(shown, 0) == [5, 3]
    assert _pairs_of(shown, 1) == [7, 2]
    assert _pairs_of(shown, 2) == [4]
    assert _pairs_of(reveal(train, torch.tensor([0]), 0, gen, "earliest"), 0) == []


def test_a_random_reveal_keeps_k_of_each_users_own_products() -> None:
    train = torch.stack([torch.zeros(20, dtype=torch.long), torch.arange(20)])
    drawn = [
        _pairs_of(reveal(train, torch.tensor([0]), 3, torch.Generator().manual_seed(s)), 0)
        for s in range(5)
    ]
    assert all(len(d) == 3 and set(d) <= set(range(20)) for d in drawn)
    assert len({tuple(d) for d in drawn}) > 1  # not the same three every time


def test_generators_refitted_without_a_fold_never_saw_its_pairs() -> None:
    train, val, users, items = taste_clusters()
    item_knn = ItemKNN(neighbours=5, grid=())
    generators: dict[str, Recommender] = {
        "recent_item_knn": RecentItemKNN(item_knn, 0.8, grid=()),  # reads item_knn: before it
        "item_knn": item_knn,
        "popularity": Popularity(),
    }
    for name in ("item_knn", "recent_item_knn", "popularity"):
        generators[name].fit(train, users, items, val)
    before = item_knn.sim.to_dense().clone()
    fold = torch.tensor([0, 1, 2, 25])
    rest = train[:, ~torch.isin(train[0], fold)]

    copies = refitted_without(generators, train, fold, users, items)

    fresh = ItemKNN(neighbours=5, grid=())
    fresh.fit(rest, users, items)
    copied_knn = copies["item_knn"]
    recent = copies["recent_item_knn"]
    assert isinstance(copied_knn, ItemKNN) and isinstance(recent, RecentItemKNN)
    assert torch.equal(copied_knn.sim.to_dense(), fresh.sim.to_dense())
    assert not torch.equal(fresh.sim.to_dense(), before)  # the fold's pairs counted before
    assert recent.item_knn is copied_knn  # the copy reads the refitted neighbours
    later = RecentItemKNN(fresh, 0.8, grid=())
    later.fit(rest, users, items)
    probe = torch.stack([torch.tensor([0, 0, 30]), torch.tensor([1, 3, 12])])
    who = torch.tensor([0, 30])
    assert torch.equal(recent.scores(who, probe), later.scores(who, probe))
    assert isinstance(copies["popularity"], Popularity)
    assert torch.equal(copies["popularity"].pop, item_popularity(rest, items))
    # the originals are as they were, and a kept generator is the original itself
    assert torch.equal(item_knn.sim.to_dense(), before)
    assert generators["recent_item_knn"].item_knn is item_knn  # type: ignore[attr-defined]
    kept = refitted_without(generators, train, fold, users, items, keep=("popularity",))
    assert kept["popularity"] is generators["popularity"]


@pytest.mark.parametrize("folds", [0, 3])
def test_each_fold_of_simulated_cold_users_is_scored_by_its_own_stage(folds: int) -> None:
    train, val, users, items = taste_clusters()
    calls: list[tuple[str, list[int], bool]] = []

    def stage_named(name: str) -> FeatureStage:
        def stage(batch: Tensor, history: Tensor, cold: bool) -> tuple[Tensor, Tensor]:
            calls.append((name, batch.tolist(), cold))
            candidates = torch.arange(items).expand(len(batch), -1)
            return torch.zeros(len(batch), items, 2), candidates

        return stage

    def fold_stage(fold: Tensor) -> FeatureStage:
        return stage_named(f"without {sorted(fold.tolist())}")

    config = StagedConfig(cold_users=9, min_cold_history=3, cold_folds=folds)
    training_groups(stage_named("main"), train, val, users, items, config, fold_stage)

    warm = [c for c in calls if not c[2]]
    cold = [c for c in calls if c[2]]
    assert [name for name, _, _ in warm] == ["main"]
    chosen = sorted(u for _, batch, _ in cold for u in batch)
    assert len(chosen) == 9 * len(config.cold_reveal)  # every chosen user, once per length
    if folds == 0:
        assert {name for name, _, _ in cold} == {"main"}
        return
    names = {name for name, _, _ in cold}
    assert len(names) == folds
    for name, batch, _ in cold:  # scored by the stage refitted without exactly its fold
        assert name == f"without {sorted(batch)}"


def test_the_reveal_order_and_folds_are_checked_and_older_rankings_read_as_trained() -> None:
    with pytest.raises(ConfigError, match=r"cold_order='first'.*'earliest', 'random'"):
        StagedConfig(cold_order="first")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="cold_folds=-1"):
        StagedConfig(cold_folds=-1)
    saved = StagedConfig().to_dict()
    assert StagedConfig.from_dict(saved) == StagedConfig()
    del saved["cold_order"], saved["cold_folds"]  # written before these settings
    older = StagedConfig.from_dict(saved)
    assert (older.cold_order, older.cold_folds) == ("random", 0)
