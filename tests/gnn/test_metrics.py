"""Ranking metrics against hand-computed examples."""

from __future__ import annotations

import math

import pytest
import torch

from kgrec.gnn.metrics import (
    answer_tops,
    exposure_metrics,
    fresh_places,
    mean_metrics,
    rank_metrics,
)


def test_recall_and_ndcg_match_hand_computed_values() -> None:
    scores = torch.tensor([[0.9, 0.8, 0.7, 0.6, 0.5]])
    targets = torch.tensor([[False, True, False, True, False]])
    exclude = torch.tensor([[True, False, False, False, False]])  # item 0 was trained on
    m = rank_metrics(scores, targets, exclude, ks=(2, 3))
    # ranking without item 0: 1, 2, 3, 4 -> hits 1, 0, 1, 0
    idcg = 1.0 + 1.0 / math.log2(3)
    assert m["recall@2"].item() == pytest.approx(0.5)
    assert m["ndcg@2"].item() == pytest.approx(1.0 / idcg)
    assert m["recall@3"].item() == pytest.approx(1.0)
    assert m["ndcg@3"].item() == pytest.approx((1.0 + 1.0 / math.log2(4)) / idcg)


def test_excluded_items_never_count_as_hits() -> None:
    scores = torch.tensor([[5.0, 1.0, 0.0]])
    targets = torch.tensor([[True, False, True]])
    exclude = torch.tensor([[True, False, False]])
    m = rank_metrics(scores, targets, exclude, ks=(1,))
    assert m["recall@1"].item() == 0.0  # item 0 would be a hit, but it is excluded
    assert m["ndcg@1"].item() == 0.0


def test_ideal_dcg_is_capped_at_k_and_perfect_ranking_scores_one() -> None:
    scores = torch.tensor([[3.0, 2.0, 1.0, 0.0]])
    targets = torch.tensor([[True, True, True, False]])
    m = rank_metrics(scores, targets, None, ks=(2,))
    assert m["ndcg@2"].item() == pytest.approx(1.0)
    assert m["recall@2"].item() == pytest.approx(2 / 3)


def test_users_without_targets_are_left_out_of_the_mean() -> None:
    scores = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    targets = torch.tensor([[True, False], [False, False]])
    per_user = rank_metrics(scores, targets, None, ks=(1,))
    assert math.isnan(per_user["recall@1"][1].item())
    assert mean_metrics(per_user)["recall@1"] == pytest.approx(1.0)


def test_answer_tops_leave_out_excluded_and_unranked_products() -> None:
    inf = float("-inf")
    scores = torch.tensor([[0.1, 0.9, 0.5, inf, 0.3], [inf, inf, 0.2, inf, inf]])
    exclude = torch.tensor([[False, True, False, False, False], [False] * 5])
    tops = answer_tops(scores, exclude, k=3)
    assert tops.tolist() == [[2, 4, 0], [2, -1, -1]]  # 1 excluded; row 2 ranks one product
    unscored = scores.clone()
    unscored[1, 0] = float("nan")  # NaN is not a score: never shown
    assert answer_tops(unscored, exclude, k=3).tolist() == [[2, 4, 0], [2, -1, -1]]


def test_exposure_counts_products_shown_to_anyone() -> None:
    tops = torch.tensor([[2, 4, 0], [2, -1, -1]])
    fresh = torch.tensor([False, False, True, True, True])
    # answer 1 holds two fresh products in three places; answer 2 one (two places empty)
    assert fresh_places(tops, fresh).tolist() == pytest.approx([2 / 3, 1 / 3])
    shown = torch.zeros(5, dtype=torch.bool)
    shown[tops[tops >= 0]] = True
    every = torch.ones(5, dtype=torch.bool)
    got = exposure_metrics(shown, every, fresh)
    assert got["coverage@20"] == pytest.approx(3 / 5)  # products 0, 2, 4
    assert got["fresh_coverage@20"] == pytest.approx(2 / 3)  # 2 and 4 of 2, 3, 4
    # a view ranking only products 0 and 1 (no fresh one): fresh coverage is undefined
    only = torch.tensor([True, True, False, False, False])
    assert exposure_metrics(shown, only, fresh)["coverage@20"] == pytest.approx(1 / 2)
    assert math.isnan(exposure_metrics(shown, only, fresh)["fresh_coverage@20"])
