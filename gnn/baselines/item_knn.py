"""ItemKNN: cosine similarity of item co-occurrence columns."""

from __future__ import annotations

import torch
from torch import Tensor

from gnn.baselines.base import history_matrix, item_popularity


class ItemKNN:
    """Score = sum of cosine similarities between an item and the user's history.

    Similarities come from the binary user x item training matrix, keeping the
    ``neighbours`` most similar items per item (0 = all).

    Args:
        neighbours: top-k neighbours kept per item.
    """

    name = "item_knn"

    def __init__(self, neighbours: int = 100) -> None:
        self.neighbours = neighbours
        self.sim = torch.zeros(0, 0)
        self.pop = torch.zeros(0)

    def fit(self, train: Tensor, num_users: int, num_items: int, val: Tensor | None = None) -> None:
        """Build the [P, P] item-item cosine matrix (dense; fine up to ~20k items)."""
        x = torch.zeros((num_users, num_items), dtype=torch.float32)
        x[train[0], train[1]] = 1.0
        co = x.T @ x  # [P, P]
        norm = co.diagonal().sqrt().clamp(min=1e-9)
        sim = co / norm[:, None] / norm[None, :]
        sim.fill_diagonal_(0.0)
        if 0 < self.neighbours < num_items:
            top = sim.topk(self.neighbours, dim=1)
            sim = torch.zeros_like(sim).scatter_(1, top.indices, top.values)
        self.sim = sim
        self.pop = item_popularity(train, num_items)

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P] summed similarity to the items in each user's history."""
        hist = history_matrix(history, users, self.sim.shape[0])
        out = hist @ self.sim.T
        out[hist.sum(1) == 0] = self.pop
        return out
