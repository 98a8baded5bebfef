"""SciPy CSR views of (user, item) pairs, history votes, a BLAS thread guard for implicit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
import torch
from threadpoolctl import threadpool_limits
from torch import Tensor


def user_item_csr(pairs: Tensor, num_users: int, num_items: int) -> sp.csr_matrix:
    """Binary float32 CSR [U, P] with a 1 at every (user, item) of ``pairs`` [2, E]."""
    keys = np.unique(pairs[0].numpy() * num_items + pairs[1].numpy())
    return _csr(keys, np.ones(len(keys), dtype=np.float32), num_users, num_items)


def history_csr(
    history: Tensor, users: Tensor, num_items: int, *, decay: float = 1.0
) -> sp.csr_matrix:
    """Float32 CSR [B, P]: row b marks the items of ``users[b]`` in ``history`` [2, E].

    With ``decay`` 1 the marks are 1. Below 1 they weigh recency: a user's pairs
    are read oldest first (the :class:`~kgrec.gnn.baselines.Recommender` order),
    and the one with ``n`` later pairs of the same user weighs ``decay ** n``
    (a product listed twice keeps its most recent weight). Built in NumPy, straight
    into CSR arrays: a request scores one shopper through several generators,
    each building this matrix, and torch's or SciPy's fixed cost per call was
    most of it (docs/ranking-log.md).
    """
    b = len(users)
    if history.numel() == 0 or b == 0:
        return sp.csr_matrix((b, num_items), dtype=np.float32)
    pairs, wanted = history.numpy(), users.numpy()
    if pairs[1].max() >= num_items or pairs[1].min() < 0:
        raise ValueError(
            f"history holds product rows outside 0..{num_items - 1} "
            f"({int(pairs[1].min())}..{int(pairs[1].max())})"
        )
    row_of = np.full(int(max(pairs[0].max(), wanted.max())) + 1, -1, dtype=np.int64)
    row_of[wanted] = np.arange(b)
    rows = row_of[pairs[0]]
    keep = rows >= 0
    rows, cols = rows[keep], pairs[1][keep]
    if decay == 1.0:
        keys = np.unique(rows * num_items + cols)
        return _csr(keys, np.ones(len(keys), dtype=np.float32), b, num_items)
    # the n-th of a user's k pairs (oldest first) has k - 1 - n after it
    order = np.argsort(rows, kind="stable")
    counts = np.bincount(rows, minlength=b)
    position = np.empty(len(rows), dtype=np.int64)
    position[order] = np.arange(len(rows)) - (np.cumsum(counts) - counts)[rows[order]]
    later = torch.from_numpy(counts[rows] - 1 - position)
    weight = torch.pow(torch.tensor(decay, dtype=torch.float64), later.double()).float().numpy()
    keys, inverse = np.unique(rows * num_items + cols, return_inverse=True)
    best = np.zeros(len(keys), dtype=np.float32)
    np.maximum.at(best, inverse, weight)
    return _csr(keys, best, b, num_items)


def history_votes(
    matrix: sp.csr_matrix, pop: Tensor, users: Tensor, history: Tensor, *, decay: float = 1.0
) -> Tensor:
    """Float32 [B, P]: row b sums the rows of ``matrix`` [P, P] at ``users[b]``'s history items.

    Each history item votes with its :func:`history_csr` weight; a user with an
    empty ``history`` [2, E] gets ``pop`` [P]. SciPy multiplies sparse matrices
    row by row, so a user's scores are the same bits alone (a request) and in a
    batch (``kgrec evaluate``), which a dense matrix-matrix product does not give.
    """
    rows = history_csr(history, users, matrix.shape[0], decay=decay)
    out = torch.from_numpy(np.asarray((rows @ matrix).toarray(), dtype=np.float32))
    out[torch.from_numpy(np.diff(rows.indptr) == 0)] = pop
    return out


def _csr(keys: np.ndarray, data: np.ndarray, num_rows: int, num_cols: int) -> sp.csr_matrix:
    """Float32 CSR [R, C] holding ``data`` at the sorted, distinct ``keys`` (row * C + column)."""
    indptr = np.zeros(num_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // num_cols, minlength=num_rows), out=indptr[1:])
    return sp.csr_matrix((data, keys % num_cols, indptr), shape=(num_rows, num_cols))


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """NumPy's BLAS on one thread while ``implicit`` runs its own thread pool.

    ``implicit`` warns (and runs up to 10x slower) when OpenBLAS threads compete
    with its native threads.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        yield
