"""Recency: histories oldest first, recency-weighted history rows and RecentItemKNN."""

from __future__ import annotations

import pytest
import torch

from kgrec.gnn.baselines import ItemKNN
from kgrec.gnn.baselines.sparse import history_csr
from kgrec.gnn.ranking.recency import RecentItemKNN
from kgrec.gnn.splits import Interactions


def pairs(rows: list[tuple[int, int]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.long).T


# items 0~2 and 1~3 co-occur (users 0-3); user 4 saw 0 then 1, user 5 saw 1 then 0
TRAIN = pairs([(0, 0), (0, 2), (1, 0), (1, 2), (2, 1), (2, 3), (3, 1), (3, 3)])


def test_dedup_lists_pairs_in_timestamp_order_keeping_the_latest() -> None:
    inter = Interactions(
        users=torch.tensor([1, 0, 0, 1, 0]),
        items=torch.tensor([5, 3, 4, 6, 3]),
        ts=torch.tensor([40, 10, 30, 20, 50]),
        num_users=2,
        num_items=7,
    )
    out = inter.dedup()
    assert out.ts.tolist() == [20, 30, 40, 50]
    assert list(zip(out.users.tolist(), out.items.tolist(), strict=True)) == [
        (1, 6),
        (0, 4),
        (1, 5),
        (0, 3),  # seen at 10 and 50: one pair, at its latest time
    ]


def test_history_rows_weigh_recency_per_user_and_keep_a_repeat_at_its_latest() -> None:
    history = pairs([(7, 0), (9, 5), (7, 1), (7, 2), (7, 0)])
    rows = history_csr(history, torch.tensor([7, 9]), 6, decay=0.5).toarray()
    # user 7: 0 (again, latest), 2, 1 from the end -> 1, 0.5, 0.25
    assert rows[0].tolist() == pytest.approx([1.0, 0.25, 0.5, 0.0, 0.0, 0.0])
    assert rows[1].tolist() == [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    binary = history_csr(history, torch.tensor([7]), 6).toarray()
    assert binary[0].tolist() == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]


def test_recent_item_knn_puts_the_latest_products_neighbours_first() -> None:
    knn = ItemKNN(neighbours=0, grid=())
    recent = RecentItemKNN(knn, decay=0.5, grid=())
    recent.fit(TRAIN, 6, 4)  # fits the ItemKNN it reads
    users = torch.tensor([4, 5])
    history = pairs([(4, 0), (5, 1), (4, 1), (5, 0)])
    s = recent.scores(users, history)
    assert s[0, 3] > s[0, 2]  # user 4 saw 1 last: 1's neighbour 3 first
    assert s[1, 2] > s[1, 3]  # user 5 saw 0 last: 0's neighbour 2 first
    plain = knn.scores(users, history)
    assert plain[0, 2] == plain[0, 3]  # ItemKNN alone cannot tell the order


def test_recent_item_knn_picks_its_decay_on_validation() -> None:
    knn = ItemKNN(neighbours=0, grid=())
    recent = RecentItemKNN(knn)
    val = pairs([(0, 1), (2, 0)])
    recent.fit(TRAIN, 6, 4, val)
    assert [p["decay"] for p, _ in recent.validation] == [0.8, 0.9, 0.95]
    assert recent.chosen == {"decay": recent.decay}
    assert recent.table is not None and recent.table.decay == recent.decay


def test_recent_item_knn_rejects_a_decay_outside_zero_one() -> None:
    with pytest.raises(ValueError, match=r"decay=1\.5"):
        RecentItemKNN(ItemKNN(), decay=1.5)
