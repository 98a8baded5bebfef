"""The evaluation run end to end on a small synthetic snapshot: every method, every view."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from kgrec.gnn.config import GNNConfig
from kgrec.gnn.evaluation import evaluate_view, interactions_of, run_evaluation
from kgrec.gnn.report import EvaluationReport
from kgrec.gnn.splits import SplitPlan, SplitView
from tests.utils.snapshots import clustered_snapshot


def test_evaluation_writes_reports_for_every_view(tmp_path: Path) -> None:
    snap = clustered_snapshot()
    assert interactions_of(snap).users.shape[0] == 60 * 12
    config = GNNConfig(hidden_dim=16, epochs=8, batch_size=256, patience=3, mode="full")
    result = run_evaluation(snap, config, text_dim=8, seeds=(0, 1), show_progress=False)
    views = {
        "warm",
        "cold_item",
        "cold_item/cold_only",
        "cold_user@0",
        "cold_user@1",
        "cold_user@3",
    }
    assert set(result.runs) == views
    for methods in result.runs.values():
        assert set(methods) == {
            "gnn",
            "popularity",
            "text_knn",
            "item_knn",
            "recent_item_knn",
            "next_item",
            "peer_popularity",
            "mf_bpr",
            "implicit_item_knn",
            "als",
            "kg_knn",
            "kgrec",
            "kgrec/no_fresh_slots",
        }
        assert all(len(rows) == 2 for rows in methods.values())
    # the report's intervals read each test user's Recall@20, whose mean is the table's
    for split, per_method in result.per_user.items():
        for method, seeds in per_method.items():
            assert list(seeds) == [0, 1]
            for run, users in zip(result.runs[split][method], seeds.values(), strict=True):
                assert float(users.nanmean()) == pytest.approx(run["recall@20"])
    summary = result.summary()
    # what the answers show: the fresh slots put held-out products before shoppers
    # on every view, the same ranking without them and popularity never do
    for split in ("warm", "cold_user@1", "cold_item"):
        shown = summary[split]
        assert shown["kgrec"]["fresh@20"][0] > 0.0
        assert shown["kgrec"]["fresh_coverage@20"][0] > 0.0
        for other in ("kgrec/no_fresh_slots", "popularity"):
            assert shown[other]["fresh@20"][0] == 0.0
            assert shown[other]["fresh_coverage@20"][0] == 0.0
        assert 0.0 < shown["popularity"]["coverage@20"][0] < shown["kgrec"]["coverage@20"][0]
    # text carries the taste clusters: text-kNN beats popularity on cold items
    cold = summary["cold_item"]
    assert cold["text_knn"]["recall@20"][0] > cold["popularity"]["recall@20"][0]
    paths = EvaluationReport(result, command="pytest").write(tmp_path)
    names = {p.name for p in paths}
    assert {
        "report.json",
        "report.md",
        "warm.png",
        "cold_user_at_3.png",
        "cold_item_cold_only.png",
    } <= names
    # strict JSON: a fresh coverage the view cannot have is null, not NaN
    payload = json.loads(
        (tmp_path / "report.json").read_text(), parse_constant=lambda c: pytest.fail(c)
    )
    assert set(payload["ratios"]) == {"kgrec", "gnn"}
    assert set(payload["ratios"]["kgrec"]) == views
    # kgrec's own rows are never the baseline it is compared with
    assert payload["ratios"]["kgrec"]["warm"]["best_baseline"] not in {"gnn", "kg_knn"}
    warm = payload["ratios"]["kgrec"]["warm"]
    assert warm["low"] <= warm["ratio"] <= warm["high"]
    markdown = (tmp_path / "report.md").read_text()
    assert "| warm | **kgrec** |" in markdown and "warm: kgrec / " in markdown
    assert "95% interval over test users" in markdown
    assert "| fresh_coverage@20 |" in markdown and "## What the answers show" in markdown
    report = EvaluationReport(result)
    warm_line = next(line for line in report.exposure_lines() if line.startswith("warm: "))
    assert "kgrec/no_fresh_slots coverage@20 0." in warm_line
    assert "fresh@20 0.0000" in warm_line  # without slots no place holds a fresh product


class _ByIndex:
    """Scores every product by its index: product 29 first, product 0 last."""

    name = "by_index"

    def __init__(self) -> None:
        self.read: list[torch.Tensor] = []  # the histories it was given

    def fit(self, train: torch.Tensor, num_users: int, num_items: int, val: object = None) -> None:
        pass

    def scores(self, users: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        self.read.append(history)
        return torch.arange(30, dtype=torch.float32).expand(len(users), 30)


def test_validation_pairs_are_read_and_never_ranked_at_test_time() -> None:
    """As when serving: what the shopper did before its test pairs is its history."""
    val = torch.stack([torch.zeros(18, dtype=torch.long), torch.arange(29, 11, -1)])
    plan = SplitPlan(
        train=torch.tensor([[0], [0]]),
        val=val,  # user 0 -> products 29 .. 12, the model's 18 favourites
        views={},
        cold_items=torch.zeros(0, dtype=torch.long),
        cold_users=torch.zeros(0, dtype=torch.long),
        num_users=1,
        num_items=30,
        seed=0,
    )
    model = _ByIndex()
    none = torch.zeros((2, 0), dtype=torch.long)
    scored = evaluate_view(model, plan, SplitView("warm", none, torch.tensor([[0], [5]])))
    # product 5 ranks 25th among all but the training product; 7th once the
    # validation products are left out, as the service leaves them out
    assert scored["recall@10"] == 1.0
    assert {(0, i) for i in range(12, 30)} <= set(map(tuple, model.read[0].T.tolist()))


def test_candidates_restrict_the_ranking_to_cold_products() -> None:
    none = torch.zeros((2, 0), dtype=torch.long)
    target = torch.tensor([[0], [1]])  # user 0 -> product 1
    plan = SplitPlan(
        train=torch.tensor([[0], [0]]),
        val=none,
        views={},
        cold_items=torch.tensor([1, 2]),
        cold_users=torch.zeros(0, dtype=torch.long),
        num_users=1,
        num_items=30,
        seed=0,
    )
    full = evaluate_view(_ByIndex(), plan, SplitView("cold_item", none, target))
    assert full["recall@20"] == 0.0  # 27 products rank above product 1
    cold = SplitView("cold_item/cold_only", none, target, candidates=plan.cold_items)
    among_cold = evaluate_view(_ByIndex(), plan, cold)
    assert among_cold["recall@10"] == 1.0  # only product 2 ranks above it
    assert among_cold["ndcg@10"] == pytest.approx(1 / math.log2(3))


class _RowSums:
    """Scores every product by a row sum, and records the torch threads it ran under."""

    name = "row_sums"

    def __init__(self, num_items: int) -> None:
        self.num_items = num_items
        self.threads: list[tuple[int, int]] = []  # (batch size, torch threads)

    def fit(self, train: torch.Tensor, num_users: int, num_items: int, val: object = None) -> None:
        pass

    def scores(self, users: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        self.threads.append((len(users), torch.get_num_threads()))
        noise = torch.randn(len(users), self.num_items, generator=torch.Generator().manual_seed(0))
        return noise - noise.sum(1, keepdim=True) / self.num_items


@pytest.mark.parametrize("products", [1_000, 40_000])
def test_a_batch_of_one_shopper_scores_on_one_torch_thread_past_the_grain(products: int) -> None:
    """A one-row reduction is split among torch's threads past 32,768: not as served."""
    none = torch.zeros((2, 0), dtype=torch.long)
    plan = SplitPlan(
        train=torch.tensor([[0, 1, 2], [0, 0, 0]]),
        val=none,
        views={},
        cold_items=torch.zeros(0, dtype=torch.long),
        cold_users=torch.zeros(0, dtype=torch.long),
        num_users=3,
        num_items=products,
        seed=0,
    )
    test = torch.tensor([[0, 1, 2], [1, 2, 3]])
    model = _RowSums(products)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        evaluate_view(model, plan, SplitView("warm", none, test), batch_users=2)
        assert torch.get_num_threads() == 2  # given back
    finally:
        torch.set_num_threads(before)
    # the batch of two keeps both threads (each row reduced by one); the last, of
    # one shopper, runs on one thread from the grain on
    assert model.threads == [(2, 2), (1, 2 if products < 32_768 else 1)]
