"""Generators backed by stored tables: what the served ranking scores with.

At serving time the candidate generators cannot refit: they read what
``kgrec embed`` stored in the artifact version. Two shapes cover them:

* :class:`NeighbourTable`: the top-N neighbours of every product (item-kNN from
  co-interactions, KG-kNN from shared brands, categories and entities), scored
  against a history as :func:`~gnn.baselines.item_knn.neighbour_scores` does;
* :class:`FactorTable`: user and product vectors (the GNN's embeddings, ALS
  factors) scored by inner product, for the users the table holds.

Both implement :class:`~gnn.baselines.Recommender` over product rows
``0..P'-1``; rows past the table's (products added online) score 0 in a
neighbour table and use the vectors given for them in a factor table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gnn.baselines.base import history_matrix
from kgrec.errors import ArtifactError


class NeighbourTable:
    """Top-N neighbour lists ``indices`` / ``values`` [P, N] (index -1 = none).

    Score of product j for a user = summed similarity of j to the user's history
    products among j's neighbours; users with an empty history get ``pop``.

    Args:
        name: the generator's name (a feature prefix).
        indices: int64 [P, N] neighbour rows.
        values: float32 [P, N] their similarities.
        pop: float32 [P'] the empty-history fallback (P' >= P: online rows too).
    """

    def __init__(self, name: str, indices: Tensor, values: Tensor, pop: Tensor) -> None:
        self.name = name
        self.indices, self.values, self.pop = indices.long(), values.float(), pop.float()
        self._sparse: Tensor | None = None

    @classmethod
    def from_dense(cls, name: str, sim: Tensor, pop: Tensor, neighbours: int) -> NeighbourTable:
        """Keep the ``neighbours`` largest entries of each row of ``sim`` [P, P] (zeros dropped)."""
        k = max(1, min(neighbours if neighbours > 0 else sim.shape[1], sim.shape[1]))
        top = sim.topk(k, dim=1)
        indices = torch.where(top.values > 0, top.indices, torch.full_like(top.indices, -1))
        return cls(name, indices, top.values.clamp(min=0.0), pop)

    @property
    def num_items(self) -> int:
        """P': the rows scored (the fallback's length)."""
        return int(self.pop.shape[0])

    def fit(self, train: Tensor, num_users: int, num_items: int, val: Tensor | None = None) -> None:
        """Nothing to fit: the table was computed when the artifact version was written."""

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P'] summed similarity of each product to the user's history products
        (``sim[j, i]`` over history products i among j's neighbours, as ItemKNN)."""
        num_items = self.num_items
        hist = history_matrix(history, users, num_items)
        out = torch.zeros((len(users), num_items))
        rows = self.indices.shape[0]
        out[:, :rows] = torch.sparse.mm(self._matrix(num_items), hist.T).T
        out[hist.sum(1) == 0] = self.pop
        return out

    def _matrix(self, num_items: int) -> Tensor:
        """Sparse [P, P'] similarity matrix of the table (built once)."""
        if self._sparse is not None and self._sparse.shape[1] == num_items:
            return self._sparse
        keep = self.indices >= 0
        rows = torch.arange(self.indices.shape[0])[:, None].expand_as(self.indices)[keep]
        self._sparse = torch.sparse_coo_tensor(
            torch.stack([rows, self.indices[keep]]),
            self.values[keep],
            (self.indices.shape[0], num_items),
        ).coalesce()
        return self._sparse

    def save(self, path: Path) -> None:
        """Write ``indices`` and ``values`` to ``path`` (.npz)."""
        np.savez(path, indices=self.indices.numpy(), values=self.values.numpy())

    @classmethod
    def load(cls, name: str, path: Path, pop: Tensor) -> NeighbourTable:
        """Read a table written by :meth:`save`.

        Raises:
            ArtifactError: the file is missing or unreadable.
        """
        try:
            with np.load(path) as data:
                indices, values = data["indices"], data["values"]
        except (OSError, KeyError, ValueError) as e:
            raise ArtifactError(f"cannot read neighbour table {path}: {e}") from e
        return cls(name, torch.from_numpy(indices), torch.from_numpy(values), pop)


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

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P'] ``users`` [B] vectors @ product vectors (0 for users the table lacks)."""
        known = users < self.users.shape[0]
        vec = torch.zeros((len(users), self.items.shape[1]))
        vec[known] = self.users[users[known]]
        out: Tensor = vec @ self.items.T
        return out


def factor_arrays(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(users [U, D], items [P, D]) of a factor table saved by :func:`save_factors`.

    Raises:
        ArtifactError: the file is missing or unreadable.
    """
    try:
        with np.load(path) as data:
            return np.asarray(data["users"], np.float32), np.asarray(data["items"], np.float32)
    except (OSError, KeyError, ValueError) as e:
        raise ArtifactError(f"cannot read factor table {path}: {e}") from e


def save_factors(path: Path, users: Tensor, items: Tensor) -> None:
    """Write user [U, D] and product [P, D] vectors to ``path`` (.npz)."""
    np.savez(path, users=users.float().numpy(), items=items.float().numpy())
