"""A generator's view of score rows that are mostly zero, read from their nonzeros alone.

A neighbour table (``item_knn``, ``next_item``, ``kg_knn``, ...) scores only the
neighbours of a shopper's products: over 100k products a row holds a few
thousand nonzeros, and every other product scores exactly 0. The dense view
(:func:`~kgrec.gnn.ranking.features.generator_views`) makes several passes over
the whole row for each such generator. :func:`sparse_view` reads the same
quantities from the nonzeros: the mean and spread over the unseen products (the
zeros enter as a count), and the ranking: the positive scores in order, then
the unseen products scoring 0 in product order (the dense view's tie-break),
then the negative ones. The ranking is exactly the dense view's; the mean and
spread agree up to float64 rounding (summed in another order).

The same holds for rows that equal a row shared by every shopper outside a few
products (a :class:`BaseRow`): popularity is that row everywhere, peer
popularity its tie-break everywhere but the products the shopper's peers
chose. There the products that move off the base take the nonzeros' place,
and the unmoved unseen ones come in the base's own order, sorted once per
catalogue (:meth:`BaseRow.of`).

It applies only where it pays, row by row: long rows
(:data:`SPARSE_MIN_PRODUCTS`) with few nonzeros (:data:`SPARSE_SHARE`) and no
NaN or infinite score. MovieLens-100K's 1,682 products never qualify, so
``kgrec evaluate`` there takes the dense view, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, NamedTuple, Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor

from kgrec.gnn.ranking.ordering import stable_descending

SPARSE_MIN_PRODUCTS: Final = 8192
"""Rows shorter than this take the dense view (its passes are cheap there)."""
SPARSE_SHARE: Final = 1 / 8
"""A row is read from its nonzeros when they are at most this share of it."""


class SparseView(NamedTuple):
    """What :func:`sparse_view` read, per row of its batch.

    Attributes:
        top: int64 [B, keep] the first ``keep`` unseen products of a stable
            descending order, -1 past a row's unseen products.
        mean: float64 [B, 1] the mean over the unseen products.
        var: float64 [B, 1] their variance.
        done: bool [B] the rows read (the others are left to the dense view:
            rows with many nonzeros, a NaN or an infinite score; their values
            are 0).
    """

    top: Tensor
    mean: Tensor
    var: Tensor
    done: Tensor


class BaseRow(NamedTuple):
    """A generator's score row shared by every shopper outside a few products.

    Attributes:
        values: float32 [P] the row.
        order: int64 [P] its products in a stable descending order (ties by product).
        center: its mean (float64).
        scatter: the sum of its squared deviations from ``center`` (float64).
    """

    values: np.ndarray
    order: np.ndarray
    center: float
    scatter: float

    @classmethod
    def of(cls, values: Tensor) -> BaseRow:
        """The base row of float32 ``values`` [P] (sorted here, once).

        A copy: were the generator's row changed in place later, its products
        would count as moved off this base, and the views stay exact.
        """
        row = values.detach().float().clone()
        order = stable_descending(row, torch.arange(len(row))).numpy()
        v64 = row.numpy().astype(np.float64)
        center = float(v64.mean()) if len(v64) else 0.0
        return cls(row.numpy(), order, center, float(((v64 - center) ** 2).sum()))


@runtime_checkable
class HasBaseRow(Protocol):
    """A generator whose rows equal one row outside a few products per shopper."""

    def base_row(self) -> Tensor | None:
        """float32 [P] that row (None: not the case for this generator as fitted)."""


def base_rows(generators: Mapping[str, object], products: int) -> dict[str, BaseRow]:
    """Name -> :class:`BaseRow` of the ``generators`` that have one (over ``products``).

    None below :data:`SPARSE_MIN_PRODUCTS`, where :func:`sparse_view` reads no row.
    """
    if products < SPARSE_MIN_PRODUCTS:
        return {}
    out = {}
    for name, generator in generators.items():
        row = generator.base_row() if isinstance(generator, HasBaseRow) else None
        if row is not None and len(row) == products and bool(torch.isfinite(row).all()):
            out[name] = BaseRow.of(row)
    return out


def sparse_view(
    s: Tensor, seen_rows: Tensor, seen_cols: Tensor, keep: int, base: BaseRow | None = None
) -> SparseView | None:
    """The view of ``s`` [B, P] outside the seen products, from each row's nonzeros.

    A row is read when it is long (:data:`SPARSE_MIN_PRODUCTS`), holds at most
    :data:`SPARSE_SHARE` of nonzeros and no NaN or infinite score; one pass over
    it finds that and its nonzeros. None when no row is read (nothing is
    allocated for a short catalogue's rows, which every view of an evaluation
    batch passes through). With a ``base``, "nonzero" means "differs from the
    base row" (:func:`_off_base`).

    Args:
        s: float32 scores.
        seen_rows: int64 [H], the rows of the seen (row, product) pairs,
            ascending (``Tensor.nonzero`` order).
        seen_cols: int64 [H], their products.
        keep: products kept per row (at most P).
        base: the generator's :class:`BaseRow` (None: the zero row).
    """
    b, p = s.shape
    if p < SPARSE_MIN_PRODUCTS:
        return None
    out = SparseView(
        torch.full((b, keep), -1, dtype=torch.long),
        torch.zeros((b, 1), dtype=torch.float64),
        torch.zeros((b, 1), dtype=torch.float64),
        torch.zeros(b, dtype=torch.bool),
    )
    dense = s.numpy()
    held = np.bincount(seen_rows.numpy(), minlength=b)
    ends = np.cumsum(held)
    cols_seen = seen_cols.numpy()
    reference = 0 if base is None else base.values
    for r in range(b):
        mask = dense[r] != reference  # NaN too; the scans below on bools: 7x faster than on floats
        if np.count_nonzero(mask) > p * SPARSE_SHARE:
            continue
        nonzero = np.flatnonzero(mask)
        if not np.isfinite(dense[r, nonzero]).all():  # NaN or inf: the dense view's arithmetic
            continue
        seen = np.sort(cols_seen[ends[r] - held[r] : ends[r]])
        if base is not None:
            mask[seen] = True  # now: moved or seen
            out.mean[r, 0], out.var[r, 0], order = _off_base(
                dense[r], (nonzero, seen, mask), base, keep
            )
            out.top[r, : len(order)] = torch.from_numpy(order)
            out.done[r] = True
            continue
        cols = nonzero[~_member(nonzero, seen)]
        values = dense[r, cols].astype(np.float64)
        count = max(p - len(seen), 1)
        m = float(values.sum()) / count
        zeros = p - len(seen) - len(cols)
        out.mean[r, 0] = m
        out.var[r, 0] = max((float(((values - m) ** 2).sum()) + zeros * m * m) / count, 0.0)
        order = _ranking(dense[r, cols], cols, (nonzero, seen), keep, zeros, p)
        out.top[r, : len(order)] = torch.from_numpy(order)
        out.done[r] = True
    return out if bool(out.done.any()) else None


def _off_base(
    row: np.ndarray, products: tuple[np.ndarray, np.ndarray, np.ndarray], base: BaseRow, keep: int
) -> tuple[float, float, np.ndarray]:
    """(mean, variance, ranking [<= keep]) of ``row`` [P] over its unseen products.

    ``products``: ``row``'s ascending moved ones (where it differs from
    ``base``), its ascending seen ones, and bool [P] True at either. The moments
    are the base's, corrected at the moved and the seen products; the ranking
    merges the best moved ones with the base order's first unmoved, unseen
    products (picked through the bool row: binary searches of the moved ones
    took 0.45 ms of 0.68 at 5,600 of them).
    """
    moved, seen, taken = products
    p = len(row)
    count = max(p - len(seen), 1)
    now, was, held = (x.astype(np.float64) for x in (row[moved], base.values[moved], row[seen]))
    mean = (base.center * p + float((now - was).sum()) - float(held.sum())) / count
    squares = (
        base.scatter
        + p * (base.center - mean) ** 2
        + float(((now - mean) ** 2).sum() - ((was - mean) ** 2).sum())
        - float(((held - mean) ** 2).sum())
    )
    unseen = moved[~_member(moved, seen)]
    best = _ordered(row[unseen], unseen, keep)
    span = base.order[: min(keep + len(moved) + len(seen), p)]
    stream = span[~taken[span]][:keep]
    if len(best):
        stream = np.concatenate([best, stream])
        stream = _ordered(row[stream], stream, keep)
    return mean, max(squares / count, 0.0), stream.astype(np.int64)


def _member(x: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Whether each of ``x`` is in the ascending ``sorted_set``: bool [len(x)].

    One binary search per element of the already sorted set: ``np.isin``, which
    sorts both arrays again or builds a table of their range, took 3 to 7 times
    as long on a request's arrays (2,000 nonzeros, 40 seen products).
    """
    if len(sorted_set) == 0:
        return np.zeros(len(x), dtype=bool)
    at = np.searchsorted(sorted_set, x).clip(max=len(sorted_set) - 1)
    found: np.ndarray = sorted_set[at] == x
    return found


def _ranking(
    values: np.ndarray,
    cols: np.ndarray,
    taken: tuple[np.ndarray, np.ndarray],
    keep: int,
    zeros: int,
    num_cols: int,
) -> np.ndarray:
    """The first ``keep`` of ``cols`` by ``values`` descending, the ``zeros`` unseen zeros between.

    ``taken``: two ascending arrays, the columns holding a nonzero and the seen
    ones (the zero-scoring unseen columns are the others of ``0..num_cols-1``,
    in column order).
    """
    positive, negative = values > 0, values < 0
    parts = [_ordered(values[positive], cols[positive], keep)]
    need = keep - len(parts[0])
    if need > 0 and zeros > 0:
        # long enough to hold them: the two sets may share columns, so clip to the row
        span = np.arange(min(min(need, zeros) + len(taken[0]) + len(taken[1]), num_cols))
        free = ~_member(span, taken[0]) & ~_member(span, taken[1])
        parts.append(span[free][:need])
        need -= len(parts[-1])
    if need > 0:
        parts.append(_ordered(values[negative], cols[negative], need))
    return np.concatenate(parts).astype(np.int64)


def _ordered(values: np.ndarray, cols: np.ndarray, keep: int) -> np.ndarray:
    """The first ``keep`` of ``cols`` by float32 ``values`` descending, ties by column."""
    if len(values) == 0 or keep <= 0:
        return np.zeros(0, dtype=np.int64)
    if len(values) > 4 * keep:  # the head first: every value above the keep-th's
        bound = np.partition(values, len(values) - keep)[len(values) - keep]
        head = values >= bound
        values, cols = values[head], cols[head]
    order = stable_descending(torch.from_numpy(values), torch.from_numpy(cols.astype(np.int64)))
    return order[:keep].numpy()
