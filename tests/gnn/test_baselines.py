"""Baselines on hand-made interaction matrices."""

from __future__ import annotations

import torch

from gnn.baselines import MFBPR, ItemKNN, Popularity, TextKNN, history_matrix


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
