"""Generators backed by stored tables: what the served ranking scores with.

At serving time the candidate generators cannot refit: they read what
``kgrec embed`` stored in the artifact version. Two shapes cover them:

* :class:`NeighbourTable`: the top-N neighbours of every product (item-kNN from
  co-interactions, KG-kNN from shared brands, categories and entities), scored
  against a history by :func:`~kgrec.gnn.baselines.sparse.history_votes`, as the
  fitted ItemKNN and KG-kNN are;
* :class:`FactorTable`: user and product vectors (the GNN's embeddings) scored
  by inner product, for the users the table holds.

(ALS, which solves a shopper's factors from its history, is served from its
stored product factors by :class:`~kgrec.gnn.baselines.ImplicitALS` itself.)

Both implement :class:`~kgrec.gnn.baselines.Recommender` over product rows
``0..P'-1``; rows past the table's (products added online) score 0 in a
neighbour table and use the vectors given for them in a factor table.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from kgrec.errors import ArtifactError
from kgrec.gnn.baselines.base import row_scores
from kgrec.gnn.baselines.item_knn import neighbour_votes
from kgrec.gnn.baselines.sparse import history_votes


class NeighbourTable:
    """A sparse product-to-product matrix ``M`` [P, P]: score = history rows @ ``M``.

    Row i of ``M`` holds the products that history product i votes for (its
    top-N neighbours' similarities, ItemKNN style, or implicit's item-item
    matrix as it is); users with an empty history get ``pop``.

    Args:
        name: the generator's name (a feature prefix).
        matrix: scipy CSR [P, P] float32.
        pop: float32 [P'] the empty-history fallback (P' >= P: online rows too).
        decay: each history product votes with weight ``decay ** n``, ``n`` the
            user's products after it (1: every product alike;
            :func:`~kgrec.gnn.baselines.sparse.history_csr`).
    """

    def __init__(
        self, name: str, matrix: sp.csr_matrix, pop: Tensor, *, decay: float = 1.0
    ) -> None:
        self.name = name
        self.matrix = sp.csr_matrix(matrix, dtype=np.float32)
        self.pop = pop.float()
        self.decay = decay
        self._padded: sp.csr_matrix | None = None

    @classmethod
    def from_similarity(
        cls, name: str, sim: Tensor, pop: Tensor, *, decay: float = 1.0
    ) -> NeighbourTable:
        """Build the table from a pruned [P, P] ``sim`` whose row j holds j's neighbours.

        As in ItemKNN and KG-kNN: score_j = sum over history i of sim[j, i].
        """
        return cls(name, neighbour_votes(sim), pop, decay=decay)

    @property
    def num_items(self) -> int:
        """P': the rows scored (the fallback's length)."""
        return int(self.pop.shape[0])

    def fit(self, train: Tensor, num_users: int, num_items: int, val: Tensor | None = None) -> None:
        """Nothing to fit: the table was computed when the artifact version was written."""

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P'] summed votes of each user's history products (rows past P score 0)."""
        n = self.num_items
        if self._padded is None or self._padded.shape[0] != n:
            padded = self.matrix.copy()
            padded.resize((n, n))
            self._padded = padded
        return history_votes(self._padded, self.pop, users, history, decay=self.decay)

    def save(self, path: Path) -> None:
        """Write the matrix to ``path`` (.npz)."""
        sp.save_npz(path, self.matrix)

    @classmethod
    def load(cls, name: str, path: Path, pop: Tensor) -> NeighbourTable:
        """Read a table written by :meth:`save`.

        Raises:
            ArtifactError: the file is missing or unreadable.
        """
        try:
            matrix = sp.load_npz(path)
        except (OSError, KeyError, ValueError) as e:
            raise ArtifactError(f"cannot read neighbour table {path}: {e}") from e
        return cls(name, sp.csr_matrix(matrix), pop)


class FactorTable:
    """Inner products of user vectors ``users`` [U, D] and product vectors ``items`` [P', D].

    Users outside ``0..U-1`` score 0 everywhere (the ranker sees them as unknown
    to this generator: list it among the staged ranking's ``factor_models``).

    Args:
        name: the generator's name (a feature prefix).
        users: float32 [U, D].
        items: float32 [P', D].
    """

    def __init__(self, name: str, users: Tensor, items: Tensor) -> None:
        self.name = name
        self.users, self.items = users.float(), items.float()

    def fit(self, train: Tensor, num_users: int, num_items: int, val: Tensor | None = None) -> None:
        """Nothing to fit: the vectors were computed when the artifact version was written."""

    @property
    def item_vectors(self) -> Tensor:
        """float32 [P', D]: the product vectors the scores are inner products with."""
        return self.items

    def holds(self, users: Tensor) -> Tensor:
        """Bool [B]: which ``users`` [B] have a vector here (the others score 0 everywhere)."""
        return users < self.users.shape[0]

    def linear_queries(self, users: Tensor, history: Tensor) -> tuple[Tensor, Tensor]:
        """(queries [B, D], scored [B] bool): ``users`` [B] vectors, and who the table holds.

        A user the table lacks gets a zero vector (and False): it scores 0 everywhere.
        """
        known = self.holds(users)
        vec = torch.zeros((len(users), self.items.shape[1]))
        vec[known] = self.users[users[known]]
        return vec, known

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P'] ``users`` [B] vectors @ product vectors (0 for users the table lacks)."""
        return row_scores(self.items, self.linear_queries(users, history)[0])


def item_arrays(path: Path) -> np.ndarray:
    """Float32 [P, D] product vectors saved by :func:`save_items`.

    Raises:
        ArtifactError: the file is missing or unreadable.
    """
    try:
        with np.load(path) as data:
            return np.asarray(data["items"], np.float32)
    except (OSError, KeyError, ValueError) as e:
        raise ArtifactError(f"cannot read product factors {path}: {e}") from e


def save_items(path: Path | IO[bytes], items: Tensor) -> None:
    """Write product [P, D] vectors to ``path`` (.npz, key ``items``; or an open file)."""
    np.savez(path, items=items.float().numpy())
