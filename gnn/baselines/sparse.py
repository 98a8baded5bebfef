"""SciPy CSR views of (user, item) pairs and a BLAS thread guard for ``implicit``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
import torch
from threadpoolctl import threadpool_limits
from torch import Tensor

from kgrec.gnn.splits import per_user_rank


def user_item_csr(pairs: Tensor, num_users: int, num_items: int) -> sp.csr_matrix:
    """Binary float32 CSR [U, P] with a 1 at every (user, item) of ``pairs`` [2, E]."""
    rows = pairs[0].numpy()
    cols = pairs[1].numpy()
    data = np.ones(len(rows), dtype=np.float32)
    out = sp.csr_matrix((data, (rows, cols)), shape=(num_users, num_items), dtype=np.float32)
    out.sum_duplicates()
    out.data[:] = 1.0
    return out


def history_csr(
    history: Tensor, users: Tensor, num_items: int, *, decay: float = 1.0
) -> sp.csr_matrix:
    """Float32 CSR [B, P]: row b marks the items of ``users[b]`` in ``history`` [2, E].

    With ``decay`` 1 the marks are 1. Below 1 they weigh recency: a user's pairs
    are read oldest first (the :class:`~kgrec.gnn.baselines.Recommender` order),
    and the one with ``n`` later pairs of the same user weighs ``decay ** n``
    (a product listed twice keeps its most recent weight).
    """
    if history.numel() == 0 or len(users) == 0:
        return sp.csr_matrix((len(users), num_items), dtype=np.float32)
    size = int(max(int(history[0].max()), int(users.max()))) + 1
    row_of = torch.full((size,), -1, dtype=torch.long)
    row_of[users] = torch.arange(len(users))
    rows = row_of[history[0]]
    keep = rows >= 0
    pairs = torch.stack([rows[keep], history[1][keep]])
    if decay == 1.0:
        return user_item_csr(pairs, len(users), num_items)
    # ranked by position: the n-th of a user's k pairs has k - 1 - n after it
    _, position, counts = per_user_rank(pairs[0], torch.arange(pairs.shape[1]), len(users))
    later = counts[pairs[0]] - 1 - position
    weight = torch.pow(torch.tensor(decay, dtype=torch.float64), later.double()).float()
    keys = pairs[0] * num_items + pairs[1]
    unique, inverse = torch.unique(keys, return_inverse=True)
    best = torch.zeros(len(unique)).scatter_reduce_(0, inverse, weight, reduce="amax")
    return sp.csr_matrix(
        (best.numpy(), ((unique // num_items).numpy(), (unique % num_items).numpy())),
        shape=(len(users), num_items),
        dtype=np.float32,
    )


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """NumPy's BLAS on one thread while ``implicit`` runs its own thread pool.

    ``implicit`` warns (and runs up to 10x slower) when OpenBLAS threads compete
    with its native threads.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        yield
