"""Text-only nearest-neighbour baseline: works on cold items, knows no interactions."""

from __future__ import annotations

import torch
from torch import Tensor

from kgrec.gnn.baselines.base import history_matrix, item_popularity


class TextKNN:
    """A user is the mean text vector of its history; items are ranked by cosine.

    Args:
        item_text: [P, D] L2-normalised text-encoder vectors of the items.
    """

    name = "text_knn"

    def __init__(self, item_text: Tensor) -> None:
        self.item_text = torch.nn.functional.normalize(item_text.float(), dim=1)
        self.pop = torch.zeros(0)

    def fit(self, train: Tensor, num_users: int, num_items: int, val: Tensor | None = None) -> None:
        """Only the popularity fallback for users without history is learnt."""
        self.pop = item_popularity(train, num_items)

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P] cosine between the user's mean history vector and every item."""
        hist = history_matrix(history, users, self.item_text.shape[0])
        profile = torch.nn.functional.normalize(hist @ self.item_text, dim=1)
        out = profile @ self.item_text.T
        empty = hist.sum(1) == 0
        out[empty] = self.pop
        return out
