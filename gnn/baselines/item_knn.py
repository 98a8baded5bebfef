"""ItemKNN: cosine similarity of item co-occurrence columns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from gnn.baselines.base import history_matrix, item_popularity
from gnn.baselines.tuning import NEIGHBOUR_GRID, Params, as_int, tune


def keep_top_neighbours(sim: Tensor, neighbours: int) -> Tensor:
    """[P, P] ``sim`` with only each row's ``neighbours`` largest entries (0 = all)."""
    if 0 < neighbours < sim.shape[1]:
        top = sim.topk(neighbours, dim=1)
        return torch.zeros_like(sim).scatter_(1, top.indices, top.values)
    return sim


def neighbour_scores(sim: Tensor, pop: Tensor, users: Tensor, history: Tensor) -> Tensor:
    """[B, P] summed similarity ``sim`` [P, P] to each user's history items.

    Users with an empty ``history`` [2, E] get the popularity vector ``pop`` [P].
    """
    hist = history_matrix(history, users, sim.shape[0])
    out = hist @ sim.T
    out[hist.sum(1) == 0] = pop
    return out


class ItemKNN:
    """Score = sum of cosine similarities between an item and the user's history.

    Similarities come from the binary user x item training matrix, keeping the
    ``neighbours`` most similar items per item (0 = all; the item itself is not
    among them). With validation pairs, ``fit`` picks ``neighbours`` from ``grid``
    by validation Recall@20 (:func:`~gnn.baselines.tuning.tune`).

    Args:
        neighbours: top-k neighbours kept per item.
        grid: hyper-parameter points tried when validation pairs are given
            (empty: no tuning).
    """

    name = "item_knn"

    def __init__(
        self, neighbours: int = 100, grid: Sequence[Mapping[str, object]] = NEIGHBOUR_GRID
    ) -> None:
        self.neighbours, self.grid = neighbours, tuple(grid)
        self.sim = torch.zeros(0, 0)
        self.pop = torch.zeros(0)
        self.chosen: Params = {"neighbours": neighbours}
        self.validation: list[tuple[Params, float]] = []

    def _with(self, params: Params) -> ItemKNN:
        return ItemKNN(as_int(params.get("neighbours", self.neighbours)), grid=())

    def fit(self, train: Tensor, num_users: int, num_items: int, val: Tensor | None = None) -> None:
        """Build the [P, P] item-item cosine matrix (dense; fine up to ~20k items)."""
        if val is not None and val.numel() and self.grid:
            tuned = tune(self._with, self.grid, train, num_users, num_items, val)
            self.neighbours, self.sim, self.pop = (
                tuned.best.neighbours,
                tuned.best.sim,
                tuned.best.pop,
            )
            self.chosen, self.validation = {"neighbours": self.neighbours}, tuned.scores
            return
        x = torch.zeros((num_users, num_items), dtype=torch.float32)
        x[train[0], train[1]] = 1.0
        co = x.T @ x  # [P, P]
        norm = co.diagonal().sqrt().clamp(min=1e-9)
        sim = co / norm[:, None] / norm[None, :]
        sim.fill_diagonal_(0.0)
        self.sim = keep_top_neighbours(sim, self.neighbours)
        self.pop = item_popularity(train, num_items)
        self.chosen, self.validation = {"neighbours": self.neighbours}, []

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P] summed similarity to the items in each user's history."""
        return neighbour_scores(self.sim, self.pop, users, history)
