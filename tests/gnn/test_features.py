"""Candidates and their features: generator views, proposals, the features' rows."""

from __future__ import annotations

import math

import pytest
import torch

from kgrec.gnn.ranking import candidate_features, feature_names, top_candidates
from kgrec.gnn.ranking.features import RANK_CAP, generator_views
from kgrec.gnn.ranking.ordering import top_ordered


def test_views_are_the_unseen_products_mean_spread_and_order() -> None:
    """Against a direct computation: nanmean / std over the unseen, a full sort."""
    gen = torch.Generator().manual_seed(0)
    scores = {"a": torch.randn(4, 50, generator=gen) * 3 + 7, "b": torch.rand(4, 50, generator=gen)}
    seen = torch.rand(4, 50, generator=gen) < 0.3
    seen[3] = False  # a row without history
    for name, view in generator_views(scores, seen).items():
        masked = scores[name].masked_fill(seen, float("nan"))
        mean = torch.nanmean(masked, dim=1, keepdim=True)
        std = torch.nanmean((masked - mean) ** 2, dim=1, keepdim=True).sqrt()
        torch.testing.assert_close(view.mean, mean, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(view.std, std, rtol=1e-4, atol=1e-5)
        for b in range(4):
            order = scores[name][b].masked_fill(seen[b], float("-inf")).argsort(descending=True)
            unseen = int((~seen[b]).sum())
            assert view.top[b, :unseen].tolist() == order[:unseen].tolist()
            assert (view.top[b, unseen:] == -1).all()


def test_views_keep_their_spread_under_a_large_offset() -> None:
    gen = torch.Generator().manual_seed(1)
    scores = {"a": 1000.0 + 0.01 * torch.randn(2, 300, generator=gen)}
    seen = torch.zeros(2, 300, dtype=torch.bool)
    seen[0, :297] = True  # three unseen products
    view = generator_views(scores, seen)["a"]
    for b in range(2):
        unseen = scores["a"][b][~seen[b]].double()
        expected = float(unseen.std(unbiased=False))
        assert float(view.std[b]) == pytest.approx(expected, rel=0.05), b


def test_ties_are_broken_by_product_whatever_the_batch() -> None:
    """The kept ranking of a row is the same alone and beside rows with long histories."""
    row = torch.zeros(1, 40)
    row[0, [3, 17, 25]] = 1.0  # three leaders, 37 products tied at 0
    assert top_ordered(row, 6)[0].tolist() == [3, 17, 25, 0, 1, 2]
    assert top_ordered(row, 12)[0, :6].tolist() == [3, 17, 25, 0, 1, 2]
    other = torch.rand(1, 40)
    seen = torch.zeros(2, 40, dtype=torch.bool)
    seen[1, :30] = True  # a long history widens the batch's top-k
    alone = generator_views({"a": row}, seen[:1], cap=8)["a"].top
    batched = generator_views({"a": torch.cat([row, other])}, seen, cap=8)["a"].top
    assert torch.equal(batched[:1], alone)
    assert alone[0].tolist() == [3, 17, 25, 0, 1, 2, 4, 5]


@pytest.mark.parametrize("seed", range(6))
def test_stacked_generators_give_the_same_views_candidates_and_features(seed: int) -> None:
    """One stacked pass over every generator and one pass each: the same tensors, bit for bit."""
    gen = torch.Generator().manual_seed(seed)
    b, p = 1 + seed % 3, 40 + 97 * seed
    scores = {
        "ties": torch.randint(0, 4, (b, p), generator=gen).float(),  # ties straddle every cut
        "normal": torch.randn(b, p, generator=gen) * 5 + 3,
        "sparse": (torch.rand(b, p, generator=gen) < 0.1) * torch.rand(b, p, generator=gen),
        "offset": 1000.0 + 0.01 * torch.randn(b, p, generator=gen),
    }
    seen = torch.rand(b, p, generator=gen) < 0.2
    seen[0] = False  # a shopper without history
    fresh = torch.rand(b, p, generator=gen) < 0.3
    count = torch.randint(0, 5, (p,), generator=gen)
    missing = {"normal": torch.rand(b, generator=gen) < 0.5}
    passes = {}
    for budget in (1, 10**9):  # each generator alone; all in one pass
        views = generator_views(scores, seen, cap=16, stack_elements=budget)
        cands = top_candidates(scores, views, seen, fresh, 5, stack_elements=budget)
        feats = candidate_features(scores, views, cands, seen, count, missing, budget)
        passes[budget] = (views, cands, feats)
    (alone, c1, f1), (stacked, c2, f2) = passes.values()
    for name in scores:
        assert torch.equal(alone[name].top, stacked[name].top), name
        assert torch.equal(alone[name].mean, stacked[name].mean), name
        assert torch.equal(alone[name].std, stacked[name].std), name
    assert torch.equal(c1, c2)
    assert torch.equal(f1.isnan(), f2.isnan())
    assert torch.equal(f1.nan_to_num(), f2.nan_to_num())


def test_features_mark_missing_generators_and_padding() -> None:
    scores = {"gnn": torch.randn(2, 6), "mf": torch.randn(2, 6)}
    cands = torch.tensor([[0, 3, -1], [1, 2, 5]])
    seen = torch.zeros(2, 6, dtype=torch.bool)
    seen[0, 4] = True
    count = torch.tensor([3, 0, 1, 7, 2, 0])
    views = generator_views(scores, seen)
    missing = {"mf": torch.tensor([True, False])}
    feats = candidate_features(scores, views, cands, seen, count, missing)
    names = feature_names(["gnn", "mf"])
    assert feats.shape == (2, 3, len(names))
    col = {n: i for i, n in enumerate(names)}
    assert torch.isnan(feats[0, :2, col["mf"]]).all()
    assert not torch.isnan(feats[1, :, col["mf"]]).any()
    assert torch.isnan(feats[0, 2]).all()  # padding
    assert feats[1, 0, col["item_fresh"]] == 1.0
    assert feats[0, 1, col["item_count"]] == math.log1p(7)
    assert feats[0, 0, col["history_len"]] == math.log1p(1)
    assert feats[0, 0, col["gnn"]] == scores["gnn"][0, 0]


def test_ranks_past_the_cap_read_as_the_cap() -> None:
    """A 5,000-product catalogue: the rank feature is exact up to RANK_CAP, flat after."""
    n = RANK_CAP + 904
    scores = {"a": torch.arange(n, 0, -1).float()[None, :]}  # product i ranks i-th
    candidates = torch.tensor([[0, 10, RANK_CAP - 1, RANK_CAP, n - 1]])
    seen = torch.zeros((1, n), dtype=torch.bool)
    views = generator_views(scores, seen)
    feats = candidate_features(scores, views, candidates, seen, torch.ones(n, dtype=torch.long))
    ranks = torch.expm1(feats[0, :, 2]).round().tolist()
    assert ranks == [0, 10, RANK_CAP - 1, RANK_CAP, RANK_CAP]


@pytest.mark.parametrize("seed", range(4))
def test_rank_feature_is_the_place_in_the_unseen_order(seed: int) -> None:
    """Against a full sort of each row's unseen products, with a history and padding."""
    gen = torch.Generator().manual_seed(seed)
    b, p = 3, 700
    scores = {"a": torch.randn(b, p, generator=gen)}
    seen = torch.rand(b, p, generator=gen) < 0.3
    candidates = torch.randint(0, p, (b, 40), generator=gen)
    candidates[0, -5:] = -1
    views = generator_views(scores, seen, cap=64)
    feats = candidate_features(scores, views, candidates, seen, torch.ones(p, dtype=torch.long))
    for r in range(b):
        order = scores["a"][r].masked_fill(seen[r], float("-inf")).argsort(descending=True)
        place = {int(c): i for i, c in enumerate(order[: int((~seen[r]).sum())])}
        for j, c in enumerate(candidates[r].tolist()):
            if c < 0:
                assert math.isnan(float(feats[r, j, 2]))
                continue
            expected = min(place.get(c, 64), 64)
            assert round(math.expm1(float(feats[r, j, 2]))) == expected, (r, c)
