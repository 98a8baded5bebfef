"""Next item: the products other shoppers went on to after the user's latest ones.

Item-kNN's co-interaction cosine is symmetric and forgets order; a shopper's next
products are the ones that *followed* its latest products in other histories.
This generator counts, over every history listed oldest first, each product
``j`` coming within ``window`` places after a product ``i`` (weight
``gap_decay ** (d - 1)`` at distance ``d``), normalises the count by
``count_i ** exponent * count_j ** (1 - exponent)`` (``exponent`` 1: the chance
that ``j`` follows ``i``, which favours popular products; 0.5: a cosine), and
scores a user's history rows weighted by recency (``decay ** n``, ``n`` the
user's products after it) against it, as :class:`RecentItemKNN` weighs item-kNN.
The sequence-aware item-to-item models of session recommendation (item
transition counts, SKNN) are the field's name for it.

Each product keeps its ``neighbours`` largest followers. Measured with the
served ranking on MovieLens-100K (docs/ranking-log.md): warm Recall@20 0.1890
-> 0.1948 over the 3 seeds of the ``kgrec`` protocol.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import scipy.sparse as sp
from torch import Tensor

from kgrec.gnn.baselines import item_popularity
from kgrec.gnn.baselines.tuning import Params, as_float, tune
from kgrec.gnn.ranking.tables import NeighbourTable

WINDOW: Final = 40
"""Places after a product within which a later product counts as following it."""
GAP_DECAY: Final = 0.95
"""Weight ratio of a follower one place further away."""
EXPONENT: Final = 0.75
"""Share of the normalisation on the preceding product's count (1 - it: the follower's)."""
NEIGHBOURS: Final = 100
"""Followers kept per product (the largest): bounds the stored table and a request's work."""


def transition_matrix(
    pairs: Tensor,
    num_items: int,
    *,
    window: int = WINDOW,
    gap_decay: float = GAP_DECAY,
    exponent: float = EXPONENT,
    neighbours: int = NEIGHBOURS,
) -> sp.csr_matrix:
    """Float32 CSR [P, P]: row i holds the products that followed i, normalised.

    Args:
        pairs: int64 [2, E] (user, product), each user's pairs oldest first (the
            :class:`~kgrec.gnn.baselines.Recommender` order; users may interleave).
        num_items: P.
        window: places after a product within which a later one follows it.
        gap_decay: weight ratio of a follower one place further away.
        exponent: share of the normalisation on the preceding product's count.
        neighbours: followers kept per product, the largest (0 = all).
    """
    users, items = pairs[0].numpy(), pairs[1].numpy()
    order = np.argsort(users, kind="stable")  # each user's pairs together, in order
    users, items = users[order], items[order]
    shape = (num_items, num_items)
    counts = sp.csr_matrix(shape, dtype=np.float32)
    # one distance at a time, summed as it goes: the peak is the distinct pairs, not
    # E x window entries
    for d in range(1, min(window, len(users) - 1) + 1):
        same = users[d:] == users[:-d]
        weight = np.full(int(same.sum()), gap_decay ** (d - 1), dtype=np.float32)
        counts = counts + sp.csr_matrix((weight, (items[:-d][same], items[d:][same])), shape)
    seen = np.bincount(items, minlength=num_items).astype(np.float64) + 1.0
    left = sp.diags((seen**-exponent).astype(np.float32))
    right = sp.diags((seen ** (exponent - 1.0)).astype(np.float32))
    return keep_top_per_row(sp.csr_matrix(left @ counts @ right, dtype=np.float32), neighbours)


def keep_top_per_row(matrix: sp.csr_matrix, n: int) -> sp.csr_matrix:
    """``matrix`` with only each row's ``n`` largest entries (0 = all; ties: lower column)."""
    if n <= 0:
        return matrix
    csr = sp.csr_matrix(matrix)
    csr.sum_duplicates()  # one entry per cell, columns sorted within each row
    rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
    order = np.lexsort((-csr.data, rows))  # by row, then largest first, stable
    keep = order[np.arange(len(order)) - csr.indptr[rows[order]] < n]
    return sp.csr_matrix(
        (csr.data[keep], (rows[keep], csr.indices[keep])), shape=csr.shape, dtype=np.float32
    )


class NextItem:
    """Score = the user's recency-weighted history rows @ :func:`transition_matrix`.

    The decay is fixed by default: picked on validation by this generator's own
    Recall@20 (``grid=DECAY_GRID``), one seed of three took 0.9, and the served
    ranking fell there on warm and cold_user@1 (docs/ranking-log.md).

    Args:
        decay: weight ratio between a history product and the one before it.
        grid: decays tried on validation pairs (empty: keep ``decay``).
    """

    name = "next_item"

    def __init__(self, decay: float = 0.8, grid: Sequence[Mapping[str, object]] = ()) -> None:
        if not 0.0 < decay <= 1.0:
            raise ValueError(f"decay={decay} must be in (0, 1]")
        self.decay, self.grid = decay, tuple(grid)
        self.table: NeighbourTable | None = None
        self.chosen: Params = {"decay": decay}
        self.validation: list[tuple[Params, float]] = []

    def _with(self, params: Params) -> NextItem:
        return NextItem(as_float(params["decay"]), grid=())

    def fit(self, train: Tensor, num_users: int, num_items: int, val: Tensor | None = None) -> None:
        """Count the transitions in ``train`` [2, E]; with ``val``, pick the decay on it."""
        if val is not None and val.numel() and self.grid:
            tuned = tune(self._with, self.grid, train, num_users, num_items, val)
            self.decay, self.table = tuned.best.decay, tuned.best.table
            self.chosen, self.validation = {"decay": self.decay}, tuned.scores
            return
        self.table = NeighbourTable(
            self.name,
            transition_matrix(train, num_items),
            item_popularity(train, num_items),
            decay=self.decay,
        )
        self.chosen, self.validation = {"decay": self.decay}, []

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P] what followed each user's history products, the latest weighing most."""
        if self.table is None:
            raise RuntimeError("NextItem.scores before fit")
        return self.table.scores(users, history)
