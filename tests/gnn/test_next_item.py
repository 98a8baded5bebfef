"""Next item: directed transition counts over histories listed oldest first."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from kgrec.gnn.baselines import ItemKNN
from kgrec.gnn.ranking.next_item import NextItem, keep_top_per_row, transition_matrix
from kgrec.gnn.ranking.recency import DECAY_GRID


def pairs(rows: list[tuple[int, int]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.long).T


# users 0-2 took 0 then 1; users 3-4 took 2 then 3; users interleave in the list
TRAIN = pairs([(0, 0), (3, 2), (1, 0), (0, 1), (2, 0), (3, 3), (1, 1), (4, 2), (2, 1), (4, 3)])


def test_transitions_count_only_what_came_after_within_the_window() -> None:
    m = transition_matrix(TRAIN, 5, window=2, gap_decay=0.5, exponent=1.0).toarray()
    # row-normalised (exponent 1): 0 was followed by 1 in all 3 of its (3 + 1) counts
    assert m[0, 1] == pytest.approx(3 / 4)
    assert m[1, 0] == 0.0  # 1 never came before 0
    assert m[2, 3] == pytest.approx(2 / 3)
    assert m[0, 3] == 0.0 and m[2, 1] == 0.0  # no shopper went from one pair to the other
    chain = transition_matrix(pairs([(0, 0), (0, 1), (0, 2), (0, 3)]), 4, window=2, gap_decay=0.5)
    dense = chain.toarray()
    assert dense[0, 1] > dense[0, 2] > 0.0  # one place further weighs half
    assert dense[0, 3] == 0.0  # three places away: outside the window of 2


def test_next_item_scores_what_followed_where_item_knn_cannot_tell_the_order() -> None:
    model = NextItem(grid=())
    model.fit(TRAIN, 6, 5)
    users = torch.tensor([5, 5])
    after_0 = model.scores(torch.tensor([5]), pairs([(5, 0)]))[0]
    after_1 = model.scores(torch.tensor([5]), pairs([(5, 1)]))[0]
    assert int(after_0.argmax()) == 1  # shoppers went from 0 to 1
    assert after_1[0] == 0.0  # and never from 1 to 0
    knn = ItemKNN(neighbours=0, grid=())
    knn.fit(TRAIN, 6, 5)
    sym = knn.scores(users[:1], pairs([(5, 1)]))[0]
    assert sym[0] > 0.0  # the co-interaction cosine counts 0 after 1 all the same


def test_next_item_weighs_the_latest_product_most() -> None:
    model = NextItem(decay=0.5, grid=())
    model.fit(TRAIN, 6, 5)
    s = model.scores(torch.tensor([5]), pairs([(5, 0), (5, 2)]))[0]  # 2 is the latest
    assert s[3] > s[1]


def test_next_item_keeps_its_decay_unless_given_a_grid() -> None:
    model = NextItem()
    model.fit(TRAIN, 6, 5, pairs([(0, 2), (3, 0)]))
    assert model.decay == 0.8 and model.validation == []


def test_next_item_picks_its_decay_on_validation_from_a_grid() -> None:
    model = NextItem(grid=DECAY_GRID)
    model.fit(TRAIN, 6, 5, pairs([(0, 2), (3, 0)]))
    assert [p["decay"] for p, _ in model.validation] == [0.8, 0.9, 0.95]
    assert model.table is not None and model.table.decay == model.decay


def test_next_item_rejects_a_decay_outside_zero_one() -> None:
    with pytest.raises(ValueError, match=r"decay=0"):
        NextItem(decay=0.0)


def test_next_item_before_fit_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="before fit"):
        NextItem().scores(torch.tensor([0]), pairs([(0, 0)]))


def test_each_product_keeps_its_largest_followers_ties_to_the_lower_column() -> None:
    dense = np.array([[0.0, 3.0, 1.0, 3.0], [2.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    kept = keep_top_per_row(sp.csr_matrix(dense, dtype=np.float32), 2).toarray()
    assert kept.tolist() == [[0.0, 3.0, 0.0, 3.0], [2.0, 0.0, 0.0, 0.0], [0.0] * 4]
    first = keep_top_per_row(sp.csr_matrix(dense, dtype=np.float32), 1).toarray()
    assert first[0].tolist() == [0.0, 3.0, 0.0, 0.0]  # the tie goes to column 1
    assert (keep_top_per_row(sp.csr_matrix(dense), 0).toarray() == dense).all()  # 0 = all
    pruned = transition_matrix(TRAIN, 5, neighbours=1)
    assert (np.diff(pruned.indptr) <= 1).all() and pruned.nnz > 0
