"""What both item-kNN baselines share: K neighbours per item, tuned on validation pairs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Generic, Self, TypeVar

import torch
from torch import Tensor

from kgrec.gnn.baselines.base import item_popularity
from kgrec.gnn.baselines.tuning import NEIGHBOUR_GRID, Params, as_int, tune

S = TypeVar("S")


class NeighbourModel(ABC, Generic[S]):
    """An item-item similarity model keeping ``neighbours`` per item (K).

    ``fit`` builds the similarity ``sim`` (of type ``S``) with
    :meth:`_similarity` and the popularity fallback ``pop`` [P]. With validation
    pairs, it instead picks ``neighbours`` from ``grid`` by validation Recall@20
    (:func:`~kgrec.gnn.baselines.tuning.tune`) and keeps the best fit's ``sim`` and
    ``pop``.

    Args:
        neighbours: K.
        grid: hyper-parameter points tried when validation pairs are given
            (empty: no tuning).
    """

    name: str

    def __init__(
        self, neighbours: int = 100, grid: Sequence[Mapping[str, object]] = NEIGHBOUR_GRID
    ) -> None:
        self.neighbours, self.grid = neighbours, tuple(grid)
        self.sim: S = self._unfitted()
        self.pop = torch.zeros(0)
        self.chosen: Params = {"neighbours": neighbours}
        self.validation: list[tuple[Params, float]] = []

    @staticmethod
    @abstractmethod
    def _unfitted() -> S:
        """The similarity before ``fit``."""

    @abstractmethod
    def _similarity(self, train: Tensor, num_users: int, num_items: int) -> S:
        """The [P, P] similarity with K = ``self.neighbours``, from ``train`` [2, E]."""

    @abstractmethod
    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P] summed similarity of every item to the items of each user's history."""

    def _with(self, params: Params) -> Self:
        return type(self)(as_int(params.get("neighbours", self.neighbours)), grid=())

    def fit(self, train: Tensor, num_users: int, num_items: int, val: Tensor | None = None) -> None:
        """Build the similarity from ``train`` [2, E] (K tuned on ``val`` [2, E_val])."""
        if val is not None and val.numel() and self.grid:
            tuned = tune(self._with, self.grid, train, num_users, num_items, val)
            self.neighbours, self.sim, self.pop = (
                tuned.best.neighbours,
                tuned.best.sim,
                tuned.best.pop,
            )
            self.chosen, self.validation = {"neighbours": self.neighbours}, tuned.scores
            return
        self.sim = self._similarity(train, num_users, num_items)
        self.pop = item_popularity(train, num_items)
        self.chosen, self.validation = {"neighbours": self.neighbours}, []
