"""What every baseline recommender implements, and the history matrix they share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final, Protocol

import numpy as np
import torch
from torch import Tensor


def history_matrix(history: Tensor, users: Tensor, num_items: int) -> Tensor:
    """float32 [B, P]: 1 where ``(users[b], item)`` is among ``history`` [2, E].

    Args:
        history: [2, E] (user, item) pairs a model may read.
        users: [B] user indices (distinct).
        num_items: P.
    """
    out = torch.zeros((len(users), num_items), dtype=torch.float32)
    if history.numel() == 0 or len(users) == 0:
        return out
    size = int(max(int(history[0].max()), int(users.max()))) + 1
    row_of = torch.full((size,), -1, dtype=torch.long)
    row_of[users] = torch.arange(len(users))
    rows = row_of[history[0]]
    keep = rows >= 0
    out[rows[keep], history[1][keep]] = 1.0
    return out


BLAS_MIN_PRODUCTS: Final = 20_000
"""Catalogues from this size score with numpy's BLAS on every core, smaller ones on one."""


TORCH_GRAIN: Final = 32_768
"""torch's ``at::internal::GRAIN_SIZE``: from this many elements a reduction may be split."""


@contextmanager
def as_one_shopper(rows: int, products: int) -> Iterator[None]:
    """One torch thread while a batch of one row over ``products`` is scored.

    A reduction over a row of ``products`` (TORCH_GRAIN or more) in a [1, P]
    batch is split among torch's threads and summed in two passes, which rounds
    otherwise than one thread; in a batch of several rows each row is reduced
    by one thread, as the service (``KGREC_SERVING__SEARCH_THREADS``, 1 by
    default) reduces its one shopper. So ``kgrec evaluate``'s last batch of a
    single shopper scores under one thread too (210 of 256 float32 row sums over
    100k differed in their last bits at two threads, a throwaway check).
    """
    if rows != 1 or products < TORCH_GRAIN:
        yield
        return
    with one_torch_thread():
        yield


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch ops on one intra-op thread, then restore the previous count.

    Also for work too small to gain from threads: MF-BPR's steps (2,048 pairs x
    64-256 dimensions), where 2 spinning threads on 2 cores shared with other
    jobs made one fit 20x slower (40 s against 1.8 s single-threaded).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def serving_blas_threads(products: int) -> int | None:
    """Numpy's BLAS threads the service scores a catalogue of ``products`` with (None: all).

    :func:`row_scores`'s bits depend on the thread count as well as on the
    batch: OpenBLAS splits a matrix-vector product's rows among its threads and
    the rows at a split take another code path (on a 1682 x 450 product, two of
    the 1,682 scores differed in their last bit between one and two threads).
    ``kgrec serve`` (:func:`kgrec.api.app.use_search_threads`, unless
    ``KGREC_SERVING__BLAS_THREADS`` sets another count) and ``kgrec evaluate``
    (:func:`kgrec.gnn.evaluation.view_metrics`) both score under this count, so
    below :data:`BLAS_MIN_PRODUCTS` (one thread) they compute the same bits on
    any machine; from it, on machines with the same number of cores.
    """
    return 1 if products < BLAS_MIN_PRODUCTS else None


def row_scores(items: Tensor, queries: Tensor) -> Tensor:
    """float32 [B, P] inner products of ``queries`` [B, D] with every row of ``items`` [P, D].

    One matrix-vector product per query over the row-major ``items``, so a
    query's scores are the same bits whatever batch it comes in: a matrix-matrix
    product rounds differently from the matrix-vector product a single request
    takes (every GNN, ALS and text-kNN row of a MovieLens-100K evaluation batch
    differed from the served one in its last bits, and one shopper in 943 had
    another top 20). For one query over 100k x 384 products numpy's product took
    7 ms against 16 ms for torch's ``queries @ items.T`` (one thread,
    ``bench/serve.py``'s learned path), which reads the matrix transposed.
    The bits also depend on numpy's BLAS thread count: :func:`serving_blas_threads`.
    """
    if queries.dim() != 2 or items.dim() != 2 or queries.shape[1] != items.shape[1]:
        raise ValueError(
            f"row_scores needs queries [B, D] and items [P, D], got {tuple(queries.shape)} "
            f"and {tuple(items.shape)}"
        )
    matrix = items.float().numpy()
    vectors = queries.float().numpy()
    out = np.empty((len(vectors), len(matrix)), dtype=np.float32)
    for r, vector in enumerate(vectors):
        np.matmul(matrix, vector, out=out[r])
    return torch.from_numpy(out)


def item_popularity(train: Tensor, num_items: int) -> Tensor:
    """float32 [P]: training interactions per item, scaled to [0, 1]."""
    counts = torch.bincount(train[1], minlength=num_items).float()
    return counts / counts.max().clamp(min=1.0)


class Recommender(Protocol):
    """A model that scores every item for a batch of users.

    ``fit`` sees the training pairs (and validation pairs for early stopping);
    ``scores`` may read ``history`` (what the users had done before: training,
    validation and revealed pairs, :meth:`~kgrec.gnn.splits.SplitPlan.history`)
    and returns [B, P] scores, higher is better. Rows whose history is empty fall
    back to popularity in every baseline. A history lists each user's pairs
    oldest first (:meth:`~kgrec.gnn.splits.Interactions.dedup` and the service
    keep that order); only recency-weighted generators read the order.
    """

    name: str

    def fit(self, train: Tensor, num_users: int, num_items: int, val: Tensor | None = None) -> None:
        """Learn from ``train`` [2, E] (user, item) pairs."""
        ...

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P] scores of every item for ``users`` [B], given ``history`` [2, E]."""
        ...
