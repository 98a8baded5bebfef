"""Most-popular baseline."""

from __future__ import annotations

import torch
from torch import Tensor

from kgrec.gnn.baselines.base import item_popularity


class Popularity:
    """Scores every item by its training interaction count (the same for every user)."""

    name = "popularity"

    def __init__(self) -> None:
        self.pop = torch.zeros(0)

    def fit(self, train: Tensor, num_users: int, num_items: int, val: Tensor | None = None) -> None:
        """Count training interactions per item ([P])."""
        self.pop = item_popularity(train, num_items)

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P]: the popularity vector for every user."""
        return self.pop.expand(len(users), -1).clone()

    def base_row(self) -> Tensor:
        """[P] the row every user's scores are (:mod:`kgrec.gnn.ranking.sparse_rows`)."""
        return self.pop
