"""Candidates: each generator's proposals above its floor, their union, the top-up."""

from __future__ import annotations

import pytest
import torch

from kgrec.gnn.ranking import top_candidates
from kgrec.gnn.ranking.candidates import generator_proposals, proposals
from kgrec.gnn.ranking.features import RANK_CAP, GeneratorView, generator_views


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


def _proposed_by_rule(
    row: torch.Tensor, seen: torch.Tensor, fresh: torch.Tensor, cap: int, per: int
) -> list[int]:
    """What one generator proposes from ``row`` [P], read from a full stable sort.

    Its ``per`` best warm unseen products, none tied at the floor (the last of its
    ``cap`` best unseen; a floor held by one product alone counts as above it);
    when fresh products above that floor leave fewer than ``per`` of them and
    more products lie past the kept ranking, the same over the whole row, its
    floor the lowest unseen score.
    """
    unseen = (~seen).nonzero().flatten()
    order = unseen[row[unseen].argsort(descending=True, stable=True)].tolist()

    def over(floor: float, among: list[int]) -> list[int]:
        alone = sum(float(row[c]) == floor for c in among) == 1
        return [c for c in among if float(row[c]) > floor or (alone and float(row[c]) == floor)]

    kept = order[:cap]
    above = over(float(row[kept[-1]]), kept)
    mine = [c for c in above if not fresh[c]][:per]
    crowded = any(fresh[c] for c in above)
    if len(mine) < per and len(order) > cap and crowded:
        whole = over(float(row[unseen].min()), order)
        mine = [c for c in whole if not fresh[c]][:per]
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


def test_a_floor_held_by_one_product_is_an_order() -> None:
    """Distinct scores: the lowest is proposed too; a shopper with one unseen product gets it."""
    scores = {"a": torch.tensor([[0.3, 0.1, 0.2, 0.4], [0.3, 0.1, 0.2, 0.4]])}
    seen = torch.tensor([[False] * 4, [True, True, False, True]])
    fresh = torch.zeros(2, 4, dtype=torch.bool)
    views = generator_views(scores, seen)
    mine = proposals(scores["a"], views["a"], seen, fresh, 4)
    assert mine[0].nonzero().flatten().tolist() == [0, 1, 2, 3]
    assert mine[1].nonzero().flatten().tolist() == [2]


def test_a_retrieved_row_proposes_what_was_read_when_fresh_products_crowd_it() -> None:
    """Past what its index returned a retrieved row holds NaN: never proposed, never a floor."""
    nan = float("nan")
    row = torch.tensor([[1.0, 0.9, 0.8, 0.5, 0.4] + [nan] * 15])
    fresh = torch.zeros(1, 20, dtype=torch.bool)
    fresh[0, :3] = True  # the best three are fresh, so the kept ranking runs short
    view = GeneratorView(torch.tensor([[0, 1, 2, 3]]), torch.zeros(1, 1), torch.ones(1, 1), 4)
    seen = torch.zeros(1, 20, dtype=torch.bool)
    mine = proposals(row, view, seen, fresh, 3)
    assert mine[0].nonzero().flatten().tolist() == [3, 4]


def test_proposals_come_in_the_views_order_whatever_their_widths() -> None:
    """Generators of another kept width are stacked apart; the answer keeps the views' order."""
    scores = {
        g: torch.rand(1, 6, generator=torch.Generator().manual_seed(i)) for i, g in enumerate("abc")
    }
    seen = torch.zeros(1, 6, dtype=torch.bool)
    views = {
        "a": generator_views({"a": scores["a"]}, seen, cap=4)["a"],
        "b": generator_views({"b": scores["b"]}, seen, cap=2)["b"],
        "c": generator_views({"c": scores["c"]}, seen, cap=4)["c"],
    }
    proposed = generator_proposals(scores, views, seen, torch.zeros_like(seen), 2, stack_elements=1)
    assert list(proposed) == ["a", "b", "c"]
