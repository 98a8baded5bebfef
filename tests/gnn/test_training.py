"""Training learns, in both modes, and mini-batches land near full-batch quality."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from kgrec.errors import KgrecError
from kgrec.gnn.baselines import Popularity
from kgrec.gnn.config import GNNConfig, SamplerBackend
from kgrec.gnn.evaluation import GNNRecommender, evaluate_view, interactions_of
from kgrec.gnn.sampler import NeighborSampler
from kgrec.gnn.snapshot import USER
from kgrec.gnn.splits import build_splits
from kgrec.settings import Settings
from tests.utils.markers import requires_pyg
from tests.utils.snapshots import clustered_snapshot

CONFIG = GNNConfig(hidden_dim=16, epochs=12, batch_size=128, patience=12, lr=0.01, fanout=8)


def test_config_defaults_are_the_settings_defaults(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).gnn == GNNConfig()


def test_config_rejects_an_unknown_mode() -> None:
    with pytest.raises(KgrecError, match="full"):
        GNNConfig(mode="sometimes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("setting", "cpu", "cuda"),
    [("auto", True, False), ("true", True, True), ("false", False, False)],
)
def test_deterministic_auto_is_on_for_the_cpu_and_off_for_cuda(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str, cpu: bool, cuda: bool
) -> None:
    monkeypatch.setenv("KGREC_GNN__DETERMINISTIC", setting)
    config = Settings(data_dir=tmp_path).gnn
    assert (config.deterministic_on("cpu"), config.deterministic_on("cuda:0")) == (cpu, cuda)


def test_config_rejects_an_unknown_determinism() -> None:
    with pytest.raises(KgrecError, match="'auto', 'true', 'false'"):
        GNNConfig(deterministic="sometimes")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["cold_item_dropout", "cold_user_dropout"])
@pytest.mark.parametrize("value", [-0.1, 1.0])
def test_config_rejects_a_dropout_share_outside_0_1(name: str, value: float) -> None:
    with pytest.raises(KgrecError, match=name):
        GNNConfig(**{name: value})  # type: ignore[arg-type]


def test_sampler_keeps_at_most_fanout_neighbours_and_all_of_small_ones() -> None:
    dst = torch.tensor([0] * 10 + [1] * 2)
    src = torch.arange(12)
    et = ("a", "r", "b")
    sampler = NeighborSampler({et: torch.stack([src, dst])}, {"a": 12, "b": 2}, 4, 1)
    sub = sampler.sample({"b": torch.tensor([0, 1])})
    ei = sub.edge_index[et]
    per_dst = torch.bincount(ei[1], minlength=2)
    assert per_dst.tolist() == [4, 2]
    assert set(sub.nodes["a"][ei[0][ei[1] == 1]].tolist()) == {10, 11}


@pytest.mark.parametrize("sampler", ["torch", pytest.param("pyg", marks=requires_pyg)])
def test_loss_decreases_and_minibatch_lands_near_full_batch(sampler: SamplerBackend) -> None:
    snap = clustered_snapshot(users=80, products=60)
    plan = build_splits(interactions_of(snap), seed=0, cold_item_fraction=0.0)
    view = plan.views["warm"]
    scores = {}
    for mode in ("full", "minibatch"):
        config = replace(CONFIG, mode=mode, sampler=sampler)
        model = GNNRecommender(snap, config, "cpu")
        model.fit(plan.train, plan.num_users, plan.num_items, plan.val)
        assert model.checkpoint is not None
        scores[mode] = evaluate_view(model, plan, view)["recall@10"]
    pop = Popularity()
    pop.fit(plan.train, plan.num_users, plan.num_items)
    base = evaluate_view(pop, plan, view)["recall@10"]
    assert scores["full"] > base * 1.2
    assert scores["minibatch"] > base * 1.2
    assert scores["minibatch"] >= 0.8 * scores["full"]


def test_loss_decreases_full_batch() -> None:
    from kgrec.gnn.trainer import Trainer, graph_inputs

    snap = clustered_snapshot()
    inter = interactions_of(snap)
    pairs = torch.stack([inter.users, inter.items])
    # without the text channel, so the loss must come from message passing
    result = Trainer(replace(CONFIG, epochs=8, text_skip=False), show_progress=False).fit(
        graph_inputs(snap, pairs), pairs
    )
    losses = [row["loss"] for row in result.history]
    assert losses[-1] < 0.8 * losses[0]
    assert result.model.constants[USER].abs().sum() > 0  # the no-history user vector learnt


def test_the_same_seed_trains_the_same_model_and_leaves_the_flag_as_it_was() -> None:
    from kgrec.gnn.trainer import Trainer, graph_inputs

    snap = clustered_snapshot(users=80, products=60)
    inter = interactions_of(snap)
    pairs = torch.stack([inter.users, inter.items])
    config = replace(CONFIG, epochs=3)
    before = torch.are_deterministic_algorithms_enabled()
    models = [
        Trainer(config, show_progress=False).fit(graph_inputs(snap, pairs), pairs).model
        for _ in range(2)
    ]
    assert torch.are_deterministic_algorithms_enabled() == before
    first, second = (m.state_dict() for m in models)
    for name, value in first.items():
        torch.testing.assert_close(second[name], value, rtol=0, atol=0, msg=name)
