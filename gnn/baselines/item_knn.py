"""ItemKNN: cosine similarity of item co-occurrence columns."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from kgrec.gnn.baselines.neighbours import NeighbourModel
from kgrec.gnn.baselines.sparse import history_votes


def keep_top_neighbours(sim: Tensor, neighbours: int) -> Tensor:
    """[P, P] ``sim`` with only each row's ``neighbours`` largest entries (0 = all)."""
    if 0 < neighbours < sim.shape[1]:
        top = sim.topk(neighbours, dim=1)
        return torch.zeros_like(sim).scatter_(1, top.indices, top.values)
    return sim


def neighbour_votes(sim: Tensor) -> sp.csr_matrix:
    """Float32 CSR [P, P] whose row i holds what history item i votes for.

    ``sim`` [P, P] holds product j's neighbours in row j, so item i's votes are
    its column i: the transpose. Scored by
    :func:`~kgrec.gnn.baselines.sparse.history_votes` (score_j = sum over the
    history's items i of sim[j, i]), as the stored
    :class:`~kgrec.gnn.ranking.tables.NeighbourTable` is: the same bits for the
    same ``sim``, alone or in a batch.
    """
    return sp.csr_matrix(sim.T.numpy(), dtype=np.float32)


class ItemKNN(NeighbourModel[Tensor]):
    """Score = sum of cosine similarities between an item and the user's history.

    Similarities come from the binary user x item training matrix, keeping the
    ``neighbours`` most similar items per item (0 = all; the item itself is not
    among them). With validation pairs, ``fit`` picks ``neighbours`` from ``grid``
    by validation Recall@20 (:class:`~kgrec.gnn.baselines.neighbours.NeighbourModel`).

    Args:
        neighbours: top-k neighbours kept per item.
        grid: hyper-parameter points tried when validation pairs are given
            (empty: no tuning).
    """

    name = "item_knn"
    _votes: tuple[Tensor, sp.csr_matrix] | None = None
    """``sim`` and its :func:`neighbour_votes`, built on the first score after a fit."""

    @staticmethod
    def _unfitted() -> Tensor:
        return torch.zeros(0, 0)

    def _similarity(self, train: Tensor, num_users: int, num_items: int) -> Tensor:
        """The [P, P] item-item cosine matrix (dense; fine up to ~20k items)."""
        x = torch.zeros((num_users, num_items), dtype=torch.float32)
        x[train[0], train[1]] = 1.0
        co = x.T @ x  # [P, P]
        norm = co.diagonal().sqrt().clamp(min=1e-9)
        sim = co / norm[:, None] / norm[None, :]
        sim.fill_diagonal_(0.0)
        return keep_top_neighbours(sim, self.neighbours)

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P] summed similarity to the items in each user's history."""
        if self._votes is None or self._votes[0] is not self.sim:  # fit and tune replace sim
            self._votes = (self.sim, neighbour_votes(self.sim))
        return history_votes(self._votes[1], self.pop, users, history)
