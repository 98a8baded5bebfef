"""Baselines on hand-made interaction matrices."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from kgrec.gnn.baselines import (
    MFBPR,
    ImplicitALS,
    ImplicitItemKNN,
    ItemKNN,
    Popularity,
    Recommender,
    TextKNN,
    history_matrix,
    item_popularity,
)
from kgrec.gnn.baselines.base import row_scores
from kgrec.gnn.baselines.implicit_als import item_gram
from kgrec.gnn.baselines.sparse import history_csr, user_item_csr
from kgrec.gnn.baselines.tuning import grid_of, validation_recall


def pairs(rows: list[tuple[int, int]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.long).T


TRAIN = pairs([(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 2), (3, 3)])


def test_history_matrix_marks_only_the_given_users() -> None:
    h = history_matrix(TRAIN, torch.tensor([2, 0]), 4)
    assert h.tolist() == [[1, 0, 1, 0], [1, 1, 0, 0]]


def test_popularity_orders_by_training_count() -> None:
    model = Popularity()
    model.fit(TRAIN, 5, 4)
    s = model.scores(torch.tensor([4]), TRAIN)
    assert s.argsort(descending=True)[0, :2].tolist() == [0, 1]
    assert s[0, 0].item() == 1.0


def test_item_knn_recommends_co_occurring_items() -> None:
    model = ItemKNN(neighbours=0)
    model.fit(TRAIN, 5, 4)
    # a new user who saw item 1 -> item 0 co-occurs with it (cosine 2/sqrt(3*2))
    s = model.scores(torch.tensor([4]), pairs([(4, 1)]))
    assert s[0].argmax().item() == 0
    assert abs(s[0, 0].item() - 2 / (3 * 2) ** 0.5) < 1e-6
    assert s[0, 3].item() == 0.0
    # without history: popularity
    empty = model.scores(torch.tensor([4]), TRAIN)
    assert empty[0].argmax().item() == 0


def test_text_knn_ranks_by_text_similarity_including_unseen_items() -> None:
    text = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [0.1, 0.9]])
    model = TextKNN(text)
    model.fit(TRAIN, 5, 4)
    s = model.scores(torch.tensor([4]), pairs([(4, 0)]))
    assert s[0].argsort(descending=True).tolist() == [0, 2, 3, 1]


def test_mf_bpr_learns_the_block_structure() -> None:
    # two user groups with disjoint item sets
    rows = [(u, i) for u in range(10) for i in range(5)] + [
        (u, i) for u in range(10, 20) for i in range(5, 10)
    ]
    train = pairs(rows)
    model = MFBPR(dim=8, epochs=60, lr=0.05, seed=0)
    model.fit(train, 21, 10)
    s = model.scores(torch.arange(20), train)
    first, second = s[:10], s[10:]
    assert (first[:, :5].mean() > first[:, 5:].mean()).item()
    assert (second[:, 5:].mean() > second[:, :5].mean()).item()
    # a cold user who revealed item 7 is folded in next to the second group
    cold = model.scores(torch.tensor([20]), pairs([(20, 7)]))
    assert cold[0, 5:].mean() > cold[0, :5].mean()


def blocks(seed: int = 0, per_group: int = 20, items: int = 10, keep: int = 6) -> torch.Tensor:
    """Two taste groups: users 0..19 pick ``keep`` of items 0..9, users 20..39 of 10..19."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for u in range(2 * per_group):
        base = 0 if u < per_group else items
        for i in torch.randperm(items, generator=g)[:keep].tolist():
            rows.append((u, base + i))
    return pairs(rows)


BLOCK_USERS, BLOCK_ITEMS = 42, 20  # users 40 and 41 have no training pairs


def fitted(kind: str, seed: int = 0) -> ImplicitALS | ImplicitItemKNN:
    model: ImplicitALS | ImplicitItemKNN = (
        ImplicitALS(factors=2, regularization=0.1, alpha=10.0, seed=seed, grid=())
        if kind == "als"
        else ImplicitItemKNN(neighbours=20, grid=())
    )
    model.fit(blocks(), BLOCK_USERS, BLOCK_ITEMS)
    return model


@pytest.mark.parametrize("kind", ["als", "implicit_item_knn"])
def test_implicit_baselines_rank_the_planted_blocks_first(kind: str) -> None:
    train = blocks()
    model = fitted(kind)
    s = model.scores(torch.arange(40), train)  # [40, 20]
    seen = history_matrix(train, torch.arange(40), BLOCK_ITEMS).bool()
    own = torch.zeros(40, BLOCK_ITEMS, dtype=torch.bool)
    own[:20, :10] = True
    own[20:, 10:] = True
    # every unseen item of a user's own group outscores every item of the other group
    unseen_own = s.masked_fill(~own | seen, float("inf")).min(1).values
    other = s.masked_fill(own, float("-inf")).max(1).values
    assert (unseen_own > other).all()


@pytest.mark.parametrize("kind", ["als", "implicit_item_knn"])
def test_implicit_baselines_fold_in_cold_users_and_fall_back_to_popularity(kind: str) -> None:
    train = blocks()
    model = fitted(kind)
    revealed = pairs([(40, 12), (40, 15)])  # user 40: two items of the second group
    history = torch.cat([train, revealed], dim=1)
    s = model.scores(torch.tensor([40, 41, 3]), history)
    assert s[0, 10:].mean() > s[0, :10].mean()
    assert s[0, 10:].min() > s[0, :10].max()
    # user 41 has no history at all: popularity
    assert torch.equal(s[1], item_popularity(train, BLOCK_ITEMS))
    # a warm user in the same batch keeps its own scores, to the bit
    assert torch.equal(s[2], model.scores(torch.tensor([3]), train)[0])


def test_a_querys_scores_are_the_same_bits_alone_and_in_a_batch() -> None:
    """A request scores one shopper; ``kgrec evaluate`` scores batches: the same bits."""
    gen = torch.Generator().manual_seed(0)
    items, queries = torch.randn(1682, 450, generator=gen), torch.randn(64, 450, generator=gen)
    batch = row_scores(items, queries)
    assert batch.shape == (64, 1682) and batch.dtype == torch.float32
    for r in range(len(queries)):
        assert torch.equal(batch[r], row_scores(items, queries[r : r + 1])[0]), r
    torch.testing.assert_close(batch, queries @ items.T, rtol=1e-4, atol=1e-4)
    assert row_scores(items, queries[:0]).shape == (0, 1682)
    with pytest.raises(ValueError, match=r"queries \[B, D\].*got \(450,\)"):
        row_scores(items, queries[0])  # one query without its batch dimension


def alone_or_batch_model(kind: str, num_items: int) -> Recommender:
    gen = torch.Generator().manual_seed(2)
    text = torch.randn(num_items, 96, generator=gen)
    models: dict[str, Recommender] = {
        "popularity": Popularity(),
        "text_knn": TextKNN(text),
        "item_knn": ItemKNN(neighbours=50, grid=()),
        "implicit_item_knn": ImplicitItemKNN(neighbours=50, grid=()),
        "mf_bpr": MFBPR(dim=32, epochs=2, seed=0, grid=()),
        "als": ImplicitALS(factors=16, seed=0, grid=()),
    }
    return models[kind]


@pytest.mark.parametrize(
    "kind", ["popularity", "text_knn", "item_knn", "implicit_item_knn", "mf_bpr", "als"]
)
def test_a_baseline_scores_a_user_alone_as_in_a_batch(kind: str) -> None:
    """``kgrec evaluate`` scores users in batches, a request one at a time: the same bits.

    Sized like MovieLens-100K, where a dense batch product (``hist @ sim.T``) gave
    other last bits than the same user alone.
    """
    gen = torch.Generator().manual_seed(1)
    num_users, num_items = 200, 1682
    train = torch.stack(
        [
            torch.randint(0, num_users, (20_000,), generator=gen),
            torch.randint(0, num_items, (20_000,), generator=gen),
        ]
    )
    model = alone_or_batch_model(kind, num_items)
    model.fit(train, num_users + 1, num_items)
    users = torch.arange(num_users + 1)  # the last one has no history: popularity
    batch = model.scores(users, train)
    assert batch.shape == (num_users + 1, num_items)
    for u in users.tolist():
        assert torch.equal(batch[u], model.scores(torch.tensor([u]), train)[0]), u


def test_als_solves_a_known_user_from_the_history_it_gathered_after_the_fit() -> None:
    train = blocks()
    als = fitted("als")
    grown = torch.cat([train, pairs([(3, i) for i in range(10, 20)])], dim=1)  # user 3 turns
    before = als.scores(torch.tensor([3]), train)[0]
    after = als.scores(torch.tensor([3]), grown)[0]
    assert after[10:].mean() - after[:10].mean() > before[10:].mean() - before[:10].mean()


def test_als_served_from_its_stored_item_factors_scores_as_the_fit() -> None:
    """What ``kgrec serve`` builds from ``als.npz`` ranks as the evaluation's ALS."""
    train = blocks()
    als = fitted("als")
    assert isinstance(als, ImplicitALS)
    # a product added online (no factors) is one more row, scored 0
    items = torch.cat([als.item_vectors, torch.zeros(1, als.factors)])
    pop = torch.cat([als.pop, torch.zeros(1)])
    gram = item_gram(als.item_vectors)  # of the stored rows, as load_ranking computes it
    served = ImplicitALS.from_items(items, als.regularization, als.alpha, pop, gram)
    users = torch.tensor([3, 25, 40, 41])  # two trained users, a cold one, an empty history
    history = torch.cat([train, pairs([(40, 12), (40, 15)])], dim=1)
    want = als.scores(users, history)
    # user 3 also bought the online product: it weighs nothing in the solve
    got = served.scores(users, torch.cat([history, pairs([(3, BLOCK_ITEMS)])], dim=1))
    assert torch.equal(got[:, :BLOCK_ITEMS], want)
    assert got[:3, BLOCK_ITEMS].eq(0).all() and got[3, BLOCK_ITEMS] == 0
    queries, scored = served.linear_queries(users, history)
    assert scored.tolist() == [True, True, True, False]
    assert torch.allclose(queries[:3] @ items.T, got[:3], atol=1e-6)


def test_a_served_shoppers_als_scores_stay_when_products_are_added_online() -> None:
    """The stored products' Gram matrix is reused: zero rows would round it otherwise."""
    gen = torch.Generator().manual_seed(0)
    items, pop = torch.randn(5000, 16, generator=gen) / 4, torch.rand(5000, generator=gen)
    gram = item_gram(items)
    before = ImplicitALS.from_items(items, 10.0, 1.0, pop, gram)
    after = ImplicitALS.from_items(
        torch.cat([items, torch.zeros(3, 16)]), 10.0, 1.0, torch.cat([pop, torch.zeros(3)]), gram
    )
    history = torch.stack([torch.zeros(40, dtype=torch.long), torch.randperm(5000)[:40]])
    user = torch.tensor([0])
    assert torch.equal(after.scores(user, history)[:, :5000], before.scores(user, history))


@pytest.mark.parametrize("kind", ["als", "implicit_item_knn"])
def test_implicit_baselines_are_deterministic(kind: str) -> None:
    users = torch.arange(42)
    history = torch.cat([blocks(), pairs([(40, 3)])], dim=1)
    a = fitted(kind, seed=3).scores(users, history)
    b = fitted(kind, seed=3).scores(users, history)
    assert torch.equal(a, b)


def test_als_seed_changes_the_initialisation() -> None:
    users = torch.arange(40)
    a = fitted("als", seed=0).scores(users, blocks())
    b = fitted("als", seed=1).scores(users, blocks())
    assert not torch.equal(a, b)


def anchors_and_fillers() -> tuple[torch.Tensor, torch.Tensor]:
    """80 users, 30 filler items (0..29) and 10 (anchor, partner) pairs (30 + 2j, 31 + 2j).

    Every user holds 10 random fillers and the anchor of pair ``u % 10``; the partner
    is in training for half of the users and the validation target of the other half.
    """
    g = torch.Generator().manual_seed(0)
    train_rows: list[tuple[int, int]] = []
    val_rows: list[tuple[int, int]] = []
    for u in range(80):
        anchor = 30 + 2 * (u % 10)
        fillers = torch.randperm(30, generator=g)[:10].tolist()
        train_rows += [(u, anchor)] + [(u, f) for f in fillers]
        (val_rows if (u // 10) % 2 else train_rows).append((u, anchor + 1))
    return pairs(train_rows), pairs(val_rows)


def tunables() -> list[ImplicitALS | ImplicitItemKNN | ItemKNN | MFBPR]:
    return [
        ImplicitALS(seed=0, grid=grid_of(factors=(2, 8, 32), regularization=(0.01, 10.0))),
        ImplicitItemKNN(grid=grid_of(neighbours=(1, 3, 19))),
        ItemKNN(grid=grid_of(neighbours=(1, 3, 19))),
        MFBPR(dim=4, epochs=20, lr=0.05, seed=0, grid=grid_of(reg=(1e-4, 1.0))),
    ]


@pytest.mark.parametrize("model", tunables(), ids=lambda m: m.name)
def test_tuning_keeps_the_fit_of_the_best_validation_score(
    model: ImplicitALS | ImplicitItemKNN | ItemKNN | MFBPR,
) -> None:
    train, val = anchors_and_fillers()
    model.fit(train, 80, 50, val)
    assert [p for p, _ in model.validation] == list(model.grid)
    scores = [score for _, score in model.validation]
    assert len(set(scores)) > 1  # the grid points differ, so the pick means something
    best_point, best_score = model.validation[scores.index(max(scores))]
    assert model.chosen == {**model.chosen, **best_point}
    # the model kept is that grid point's fit, not the last one tried
    assert validation_recall(model, train, val, 50) == pytest.approx(best_score)


@pytest.mark.parametrize(
    "model",
    [ItemKNN(grid=grid_of(neighbours=(49, 1))), ImplicitItemKNN(grid=grid_of(neighbours=(50, 2)))],
    ids=lambda m: m.name,
)
def test_tuning_picks_few_neighbours_when_the_target_is_the_closest_item(
    model: ItemKNN | ImplicitItemKNN,
) -> None:
    # with every neighbour kept, the fillers (cosine ~1/3 to each other, 10 in every
    # history) outscore the partner; with one neighbour the anchor points at it
    train, val = anchors_and_fillers()
    model.fit(train, 80, 50, val)
    (_, many), (_, few) = model.validation
    assert few > many + 0.5
    assert model.neighbours == model.grid[1]["neighbours"]
    assert validation_recall(model, train, val, 50) == pytest.approx(few)


@settings(max_examples=150, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 9)), max_size=40),
    users=st.lists(st.integers(0, 8), min_size=1, max_size=5, unique=True),
    decay=st.sampled_from([1.0, 0.9, 0.5]),
)
def test_history_rows_are_each_users_products_weighed_by_what_came_after(
    pairs: list[tuple[int, int]], users: list[int], decay: float
) -> None:
    """Against the rule read literally: pair by pair, the latest repeat's weight kept."""
    history = torch.tensor(pairs, dtype=torch.long).reshape(-1, 2).T
    out = history_csr(history, torch.tensor(users), 10, decay=decay)
    expected = np.zeros((len(users), 10), dtype=np.float32)
    for b, user in enumerate(users):
        mine = [item for u, item in pairs if u == user]
        for n, item in enumerate(mine):
            later = len(mine) - 1 - n
            expected[b, item] = max(expected[b, item], np.float32(decay**later))
    assert out.dtype == np.float32 and out.has_canonical_format
    np.testing.assert_allclose(out.toarray(), expected, rtol=1e-6)
    if pairs:
        binary = user_item_csr(history, 7, 10).toarray()
        assert binary.tolist() == [[float((u, i) in pairs) for i in range(10)] for u in range(7)]
