"""Item-item cosine kNN from the ``implicit`` library (``CosineRecommender``)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp
import torch
from implicit.nearest_neighbours import CosineRecommender
from torch import Tensor

from gnn.baselines.base import item_popularity
from gnn.baselines.sparse import history_csr, single_threaded_blas, user_item_csr
from gnn.baselines.tuning import NEIGHBOUR_GRID, Params, as_int, tune


class ImplicitItemKNN:
    """Score = the user's history rows @ implicit's sparse item-item cosine matrix.

    ``CosineRecommender(K)`` keeps the ``K`` most similar items per item, the item
    itself included (implicit's convention; the item's own entry only scores the
    history, which evaluation excludes). Users are scored from whatever ``history``
    holds for them, so a cold user's revealed pairs count as its profile; an empty
    history gets popularity. With validation pairs, ``fit`` picks ``neighbours``
    from ``grid`` by validation Recall@20 (:func:`~gnn.baselines.tuning.tune`).

    Args:
        neighbours: K.
        grid: hyper-parameter points tried when validation pairs are given
            (empty: no tuning).
    """

    name = "implicit_item_knn"

    def __init__(
        self, neighbours: int = 100, grid: Sequence[Mapping[str, object]] = NEIGHBOUR_GRID
    ) -> None:
        self.neighbours, self.grid = neighbours, tuple(grid)
        self.sim: sp.csr_matrix | None = None
        self.pop = torch.zeros(0)
        self.chosen: Params = {"neighbours": neighbours}
        self.validation: list[tuple[Params, float]] = []

    def _with(self, params: Params) -> ImplicitItemKNN:
        return ImplicitItemKNN(as_int(params.get("neighbours", self.neighbours)), grid=())

    def fit(self, train: Tensor, num_users: int, num_items: int, val: Tensor | None = None) -> None:
        """Build the sparse [P, P] similarity from ``train`` [2, E] (K tuned on ``val``)."""
        if val is not None and val.numel() and self.grid:
            tuned = tune(self._with, self.grid, train, num_users, num_items, val)
            self.neighbours, self.sim, self.pop = (
                tuned.best.neighbours,
                tuned.best.sim,
                tuned.best.pop,
            )
            self.chosen, self.validation = {"neighbours": self.neighbours}, tuned.scores
            return
        with single_threaded_blas(), warnings.catch_warnings():
            # CosineRecommender.fit itself hands a COO matrix to its kNN routine
            warnings.filterwarnings("ignore", message="Method expects CSR input")
            model = CosineRecommender(K=self.neighbours, num_threads=torch.get_num_threads())
            model.fit(user_item_csr(train, num_users, num_items), show_progress=False)
        self.sim = model.similarity.tocsr().astype(np.float32)
        self.pop = item_popularity(train, num_items)
        self.chosen, self.validation = {"neighbours": self.neighbours}, []

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P] summed similarity of every item to the items of each user's history."""
        if self.sim is None:
            raise RuntimeError("ImplicitItemKNN.scores before fit")
        rows = history_csr(history, users, self.sim.shape[0])  # [B, P]
        out = torch.from_numpy(np.asarray((rows @ self.sim).toarray(), dtype=np.float32))
        out[torch.from_numpy(np.diff(rows.indptr) == 0)] = self.pop
        return out
