"""Item-item cosine kNN from the ``implicit`` library (``CosineRecommender``)."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import torch
from implicit.nearest_neighbours import CosineRecommender
from torch import Tensor

from kgrec.gnn.baselines.neighbours import NeighbourModel
from kgrec.gnn.baselines.sparse import history_votes, single_threaded_blas, user_item_csr


class ImplicitItemKNN(NeighbourModel[sp.csr_matrix | None]):
    """Score = the user's history rows @ implicit's sparse item-item cosine matrix.

    ``CosineRecommender(K)`` keeps the ``K`` most similar items per item, the item
    itself included (implicit's convention; the item's own entry only scores the
    history, which evaluation excludes). Users are scored from whatever ``history``
    holds for them, so a cold user's revealed pairs count as its profile; an empty
    history gets popularity. With validation pairs, ``fit`` picks ``neighbours``
    from ``grid`` by validation Recall@20
    (:class:`~kgrec.gnn.baselines.neighbours.NeighbourModel`).

    Args:
        neighbours: K.
        grid: hyper-parameter points tried when validation pairs are given
            (empty: no tuning).
    """

    name = "implicit_item_knn"

    @staticmethod
    def _unfitted() -> sp.csr_matrix | None:
        return None

    def _similarity(self, train: Tensor, num_users: int, num_items: int) -> sp.csr_matrix:
        """Implicit's sparse [P, P] item-item cosine matrix."""
        with single_threaded_blas(), warnings.catch_warnings():
            # CosineRecommender.fit itself hands a COO matrix to its kNN routine
            warnings.filterwarnings("ignore", message="Method expects CSR input")
            model = CosineRecommender(K=self.neighbours, num_threads=torch.get_num_threads())
            model.fit(user_item_csr(train, num_users, num_items), show_progress=False)
        return model.similarity.tocsr().astype(np.float32)

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P] summed similarity of every item to the items of each user's history."""
        if self.sim is None:
            raise RuntimeError("ImplicitItemKNN.scores before fit")
        return history_votes(self.sim, self.pop, users, history)
