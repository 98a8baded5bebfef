"""Candidates and their features: generator views, proposals, the features' rows."""

from __future__ import annotations

import math

import pytest
import torch

from kgrec.gnn.ranking import candidate_features, feature_names, top_candidates
from kgrec.gnn.ranking.features import RANK_CAP, generator_views, proposals
from kgrec.gnn.ranking.ordering import top_ordered


def test_candidates_are_the_union_of_each_generators_top() -> None:
    scores = {
        "a": torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0]]),
        "b": torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0]]),
    }
    seen = torch.tensor([[True, False, False, False, False]])
    views = generator_views(scores, seen)
    cands = top_candidates(scores, views, seen, torch.zeros_like(seen), per_generator=1)
    assert sorted(c for c in cands[0].tolist() if c >= 0) == [1, 4]
    fresh = torch.tensor([[False, True, False, False, False]])
    cands = top_candidates(scores, views, seen, fresh, per_generator=1)
    assert sorted(c for c in cands[0].tolist() if c >= 0) == [2, 4]


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


def test_candidates_past_the_kept_ranking_come_from_the_row_itself() -> None:
    """The best RANK_CAP products are nearly all fresh: the rest of the row proposes."""
    n = RANK_CAP + 300
    scores = {"a": torch.arange(n, 0, -1).float()[None, :]}  # product i ranks i-th
    seen = torch.zeros((1, n), dtype=torch.bool)
    fresh = torch.zeros((1, n), dtype=torch.bool)
    fresh[0, : RANK_CAP - 50] = True  # 50 warm products left in the kept ranking
    views = generator_views(scores, seen)
    cands = top_candidates(scores, views, seen, fresh, per_generator=120)
    assert cands[0].tolist() == list(range(RANK_CAP - 50, RANK_CAP + 70))


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


def _proposed_by_rule(
    row: torch.Tensor, seen: torch.Tensor, fresh: torch.Tensor, cap: int, per: int
) -> list[int]:
    """What one generator proposes from ``row`` [P], read from a full stable sort.

    Its ``per`` best warm unseen products above the floor, the last of its ``cap``
    best unseen; when fresh products above that floor leave fewer than ``per``
    of them and more products lie past the kept ranking, its ``per`` best warm
    unseen products above the lowest unseen score.
    """
    unseen = (~seen).nonzero().flatten()
    order = unseen[row[unseen].argsort(descending=True, stable=True)].tolist()
    kept = order[:cap]
    floor = float(row[kept[-1]])
    warm = [c for c in order if not fresh[c]]
    mine = [c for c in warm if float(row[c]) > floor][:per]
    crowded = any(fresh[c] and float(row[c]) > floor for c in kept)
    if len(mine) < per and len(order) > cap and crowded:
        lowest = float(row[unseen].min())
        mine = [c for c in warm if float(row[c]) > lowest][:per]
    return sorted(mine)


@pytest.mark.parametrize("seed", range(6))
def test_candidates_are_each_rows_proposals_in_product_order(seed: int) -> None:
    """top_candidates against the union of the proposals' [B, P] masks, short rows included."""
    gen = torch.Generator().manual_seed(seed)
    b, p = 3, 60 + 150 * seed
    scores = {
        "a": torch.randn(b, p, generator=gen),
        "ties": torch.randint(0, 3, (b, p), generator=gen).float(),
        "sparse": (torch.rand(b, p, generator=gen) < 0.05) * torch.rand(b, p, generator=gen),
    }
    seen = torch.rand(b, p, generator=gen) < 0.3
    fresh = (torch.rand(p, generator=gen) < 0.5)[None, :].expand(b, p)  # rows run short of warm
    views = generator_views(scores, seen, cap=16)
    union = torch.zeros_like(seen)
    for name, view in views.items():
        mine = proposals(scores[name], view, seen, fresh, per_generator=12)
        for r in range(b):
            expected = _proposed_by_rule(scores[name][r], seen[r], fresh[r], cap=16, per=12)
            assert mine[r].nonzero().flatten().tolist() == expected, (name, r)
        union |= mine
    cands = top_candidates(scores, views, seen, fresh, per_generator=12)
    for r in range(b):
        assert [c for c in cands[r].tolist() if c >= 0] == union[r].nonzero().flatten().tolist()
        assert (cands[r][cands[r] < 0] == -1).all()


@pytest.mark.parametrize("p", [6, 9000])  # the dense view, then the sparse one
def test_a_generator_proposes_nothing_at_its_rows_floor(p: int) -> None:
    """A flat row proposes nothing; a row with two votes proposes those two.

    Before, both "proposed" the first products by row number (the zeros' order),
    and the explanations could credit the generator with them. An order at a
    tiny scale is still an order.
    """
    scores = {"knn": torch.zeros(4, p)}
    scores["knn"][1, [p - 1, 3]] = torch.tensor([0.5, 0.25])  # two votes
    scores["knn"][2, :5] = torch.tensor([1e-9, 3e-9, 2e-9, 5e-9, 4e-9])  # a tiny-scale order
    scores["knn"][3] = -1.0  # flat below zero
    seen = torch.zeros(4, p, dtype=torch.bool)
    fresh = torch.zeros(4, p, dtype=torch.bool)
    views = generator_views(scores, seen, cap=min(p, 6))
    mine = proposals(scores["knn"], views["knn"], seen, fresh, 4)
    assert not mine[0].any() and not mine[3].any()
    assert mine[1].nonzero().flatten().tolist() == [3, p - 1]
    assert mine[2].nonzero().flatten().tolist() == [1, 2, 3, 4]
    cands = top_candidates(scores, views, seen, fresh, per_generator=4)
    assert (cands[0] == -1).all() and (cands[3] == -1).all()
    assert [c for c in cands[1].tolist() if c >= 0] == [3, p - 1]


def test_the_places_a_flat_row_leaves_go_to_the_top_up_generators_order() -> None:
    """The knn row proposes 2 of its 4 places (a shopper with two votes), nothing for a flat row.

    The top-up generator then proposes as many more of its next best: 2 more, then
    4 more, so the candidates are its order rather than products by row number.
    """
    p = 12
    pop = torch.arange(p, 0, -1).float().flip(0)[None, :].repeat(2, 1)  # product 11 first
    knn = torch.zeros(2, p)
    knn[0, [0, 1]] = torch.tensor([0.5, 0.25])
    scores = {"knn": knn, "popularity": pop}
    seen = torch.zeros(2, p, dtype=torch.bool)
    fresh = torch.zeros(2, p, dtype=torch.bool)
    views = generator_views(scores, seen)
    plain = top_candidates(scores, views, seen, fresh, per_generator=4)
    assert [c for c in plain[0].tolist() if c >= 0] == [0, 1, 8, 9, 10, 11]
    assert [c for c in plain[1].tolist() if c >= 0] == [8, 9, 10, 11]
    topped = top_candidates(scores, views, seen, fresh, per_generator=4, top_up="popularity")
    assert [c for c in topped[0].tolist() if c >= 0] == [0, 1, 6, 7, 8, 9, 10, 11]
    assert [c for c in topped[1].tolist() if c >= 0] == [4, 5, 6, 7, 8, 9, 10, 11]
