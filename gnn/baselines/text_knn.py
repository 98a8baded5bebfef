"""Text-only nearest-neighbour baseline: works on cold items, knows no interactions."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from kgrec.gnn.baselines.base import item_popularity, row_scores
from kgrec.gnn.baselines.sparse import history_csr


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

    @property
    def item_vectors(self) -> Tensor:
        """float32 [P, D]: the normalised item vectors the scores are inner products with."""
        return self.item_text

    def linear_queries(self, users: Tensor, history: Tensor) -> tuple[Tensor, Tensor]:
        """(profiles [B, D], scored [B] bool): each user's normalised mean history vector.

        A user without history gets a zero profile and False (it is scored by popularity).
        """
        hist = history_csr(history, users, self.item_text.shape[0])  # sparse: H rows read
        summed = torch.from_numpy(np.asarray(hist @ self.item_text.numpy(), dtype=np.float32))
        empty = torch.from_numpy(np.diff(hist.indptr) == 0)
        return torch.nn.functional.normalize(summed, dim=1), ~empty

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P] cosine between the user's mean history vector and every item."""
        profile, scored = self.linear_queries(users, history)
        out = row_scores(self.item_text, profile)
        out[~scored] = self.pop
        return out
