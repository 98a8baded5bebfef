"""StagedRanking's served list: the fresh products' order at their slots."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from kgrec.gnn.ranking.ordering import stable_descending
from kgrec.gnn.ranking.slots import (
    drawn_fresh_order,
    fresh_draw_noise,
    fresh_order_scores,
    served_list,
    shopper_key,
)
from tests.utils.ranking import fitted_staged, taste_clusters


@pytest.mark.parametrize("share", [0.0, 0.2, 0.5])
def test_fresh_products_tied_in_the_cold_path_go_in_product_order(share: float) -> None:
    """Products 20-25 are fresh and tie in the cold path (no neighbours to score them).

    Without the draw per shopper (which orders them apart: below).
    """
    train, val, users, _ = taste_clusters()
    staged, _ = fitted_staged(
        train, val, users, 26, per_generator=4, fresh_share=share, fresh_temperature=0.0
    )
    for served, scores in staged.ranked(torch.arange(0, users, 7), train):
        assert served[scores.isnan()].tolist() == list(range(20, 26))


def test_a_served_list_puts_the_candidates_in_order_and_the_fresh_at_their_slots() -> None:
    inf = float("inf")
    candidates = torch.tensor([4, 7, 9, -1, 2])
    ranked = torch.tensor([0.5, 2.0, 0.5, -inf, 1.0])
    fresh, cold = torch.tensor([11, 12, 13]), torch.tensor([0.1, 0.3, 0.3])
    served, scores = served_list(candidates, ranked, ranked, fresh, cold, 0.5)
    # ranker order, ties in candidate order (4 before 9); fresh best first, ties by row
    assert served.tolist() == [7, 12, 2, 13, 4, 11, 9]
    assert scores[[0, 2, 4, 6]].tolist() == [2.0, 1.0, 0.5, 0.5]
    assert scores[[1, 3, 5]].isnan().all()
    # another order key (a shopper without history) keeps the ranker's scores
    key = torch.tensor([1.0, 0.0, 3.0, -inf, 2.0])
    served, scores = served_list(candidates, ranked, key, fresh[:0], cold[:0], 0.5)
    assert served.tolist() == [9, 2, 4, 7]
    assert scores.tolist() == [0.5, 1.0, 0.5, 2.0]


@settings(max_examples=60, deadline=None)
@given(
    warm=st.integers(0, 60),
    fresh=st.integers(0, 3000),
    levels=st.sampled_from([3, 1000]),  # few levels: ties straddle the cut
    share=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
    limit=st.integers(1, 400),
    nan=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_a_served_list_cut_at_a_limit_is_the_whole_lists_head(
    warm: int, fresh: int, levels: int, share: float, limit: int, nan: bool, seed: int
) -> None:
    """The service reads a list's head: the same rows and scores as the whole list's."""
    g = torch.Generator().manual_seed(seed)
    candidates = torch.randperm(warm, generator=g)
    ranked = torch.randint(0, levels, (warm,), generator=g).float()
    rows = torch.arange(warm, warm + fresh)  # ascending, none of the candidates
    cold = torch.randint(0, levels, (fresh,), generator=g).float()
    if nan and fresh:
        cold[torch.randint(0, fresh, (3,), generator=g)] = float("nan")
    whole = served_list(candidates, ranked, ranked, rows, cold, share)
    head = served_list(candidates, ranked, ranked, rows, cold, share, limit)
    assert torch.equal(head[0], whole[0][:limit])
    torch.testing.assert_close(head[1], whole[1][:limit], equal_nan=True)


def test_the_fresh_draw_is_fixed_per_shopper_and_product() -> None:
    keys, columns = torch.tensor([0, 1, 2, 1 << 40]), torch.arange(50, 90)
    noise = fresh_draw_noise(keys, columns, 0.5)
    assert noise.shape == (4, 40)
    # the same draw whatever else is in the batch, and on every call
    alone = fresh_draw_noise(keys[2:3], columns[10:], 0.5)
    assert torch.equal(alone, noise[2:3, 10:])
    assert torch.equal(fresh_draw_noise(keys, columns, 1.0), noise * 2)
    assert not torch.equal(noise[0], noise[1])  # shoppers draw apart
    assert not fresh_draw_noise(keys, columns, 0.0).any()
    # Gumbel at scale 0.5: mean 0.5 x Euler's gamma, standard deviation 0.5 x pi / sqrt(6)
    many = fresh_draw_noise(torch.arange(200), torch.arange(500), 0.5).double()
    assert float(many.mean()) == pytest.approx(0.5 * 0.5772, abs=0.01)
    assert float(many.std()) == pytest.approx(0.5 * math.pi / math.sqrt(6), abs=0.01)


def test_the_fresh_draw_keeps_its_values() -> None:
    """Pinned: a change to the hash redraws every shopper's fresh order (and the docs' figures)."""
    noise = fresh_draw_noise(torch.tensor([0, 1, 1 << 40]), torch.tensor([0, 5, 99_999]), 1.0)
    expected = [
        [1.0811494588851929, -0.4812471568584442, -0.2761084735393524],
        [1.521854281425476, -0.5337722301483154, -0.0888863205909729],
        [-0.470581591129303, 1.0088778734207153, 3.2825424671173096],
    ]
    assert torch.allclose(noise, torch.tensor(expected), atol=1e-6)


def test_the_fresh_draw_adds_each_columns_own_noise() -> None:
    cold = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    columns = torch.tensor([1, 3])
    drawn = drawn_fresh_order(cold, columns, torch.tensor([3, 4]), 0.5)
    assert drawn.ne(cold).all()  # every fresh column of every shopper drawn
    assert torch.equal(drawn, cold + fresh_draw_noise(torch.tensor([3, 4]), columns, 0.5))
    assert drawn_fresh_order(cold, columns, torch.tensor([3, 4]), 0.0) is cold
    with pytest.raises(ValueError, match="one draw key per user: 1 keys for 2 users"):
        drawn_fresh_order(cold, columns, torch.tensor([3]), 0.5)
    with pytest.raises(ValueError, match=r"keys must lie in 0\.\.2\*\*41.*got keys -1\.\.4"):
        drawn_fresh_order(cold, columns, torch.tensor([-1, 4]), 0.5)


def test_a_shoppers_cold_order_is_the_same_alone_and_in_a_batch() -> None:
    """Bit for bit, though the batch's other shopper has not seen a fresh product this one has.

    The z-scores run over the catalogue's fresh products for everyone: summed over the
    columns fresh for someone in the batch, the float32 rounding moved with the batch
    and reordered products 16 and 17 here.
    """
    a = [6, 2, 3, 4, 6, 7, 1, 5, 2, 5, 7, 0, 0, 4, 1, 1, 3, 7, 1, 4, 5, 3, 4, 1]
    a += [5, 4, 1, 6, 3, 5, 4, 3, 0, 0, 5, 4, 5, 1, 6, 2, 6, 0, 1, 0, 1, 0, 1, 5]
    b = [6, 4, 3, 4, 4, 1, 7, 2, 7, 0, 2, 2, 5, 3, 0, 0, 7, 3, 7, 7, 4, 0, 2, 0]
    b += [6, 5, 1, 2, 1, 6, 2, 5, 1, 5, 1, 2, 5, 2, 3, 0, 4, 2, 2, 1, 2, 6, 5, 1]
    signals = {"a": torch.tensor([a, a]).float(), "b": torch.tensor([b, b]).float()}
    fresh = torch.ones((2, 48), dtype=torch.bool)
    fresh[0, 0] = False  # the first shopper has seen product 0, the second has not
    batch = fresh_order_scores(signals, ["a", "b"], fresh)
    first = {n: s[:1] for n, s in signals.items()}
    alone = fresh_order_scores(first, ["a", "b"], fresh[:1])
    assert torch.equal(batch[0, 1:], alone[0, 1:])
    rows = torch.arange(1, 48)
    assert stable_descending(alone[0, 1:], rows)[:8].tolist() == [19, 24, 29, 4, 16, 17, 36, 40]


def test_shopper_keys_are_stable_and_past_every_user_row() -> None:
    assert shopper_key("alice") == shopper_key("alice") >= 1 << 40
    assert shopper_key("alice") != shopper_key("bob")


def test_the_fresh_draw_shows_tied_fresh_products_to_different_shoppers() -> None:
    """Products 20-25 tie in the cold path: each shopper draws its own order of them."""
    train, val, users, _ = taste_clusters()
    staged, _ = fitted_staged(
        train, val, users, 26, per_generator=4, fresh_share=0.5, fresh_temperature=0.5
    )
    batch = torch.arange(0, users, 3)
    orders = [served[scores.isnan()].tolist() for served, scores in staged.ranked(batch, train)]
    assert all(sorted(order) == list(range(20, 26)) for order in orders)
    assert len({order[0] for order in orders}) > 1  # not everyone is shown product 20 first
    # each shopper's own order, alone or in a batch, and again
    for user, order in zip(batch.tolist(), orders, strict=True):
        ((served, scores),) = staged.ranked(torch.tensor([user]), train)
        assert served[scores.isnan()].tolist() == order
    # keys other than the rows draw other orders
    keyed = staged.ranked(batch, train, keys=batch + 1000)
    assert [s[c.isnan()].tolist() for s, c in keyed] != orders
    # an arm's temperature 0: the cold order itself, ties in product order, for everyone
    plain = staged.with_fresh_temperature(0.0).ranked(batch, train)
    assert all(s[c.isnan()].tolist() == list(range(20, 26)) for s, c in plain)
    assert staged.config.fresh_temperature == 0.5  # the stages themselves are unchanged


def test_an_arms_copy_shares_what_the_stages_compute_once() -> None:
    """Every request of an arm copies the stages: the copies share the fresh products and bases."""
    train, val, users, _ = taste_clusters()
    trained, _ = fitted_staged(train, val, users, 26, per_generator=4, fresh_share=0.5)
    # a new binding, as the service makes: nothing computed yet
    staged = trained.serving(trained.generators, trained.item_count, trained.known_users)
    first, second = staged.with_fresh_temperature(0.0), staged.with_fresh_temperature(0.0)
    assert first._fresh is second._fresh is staged._fresh is not None
    assert first._bases is second._bases is staged._bases is not None
