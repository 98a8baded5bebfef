"""Descending orders of float32 scores, ties broken by row: exact and cheap at 100k products.

A request over a large catalogue orders long rows several times: nine
generators' heads (:func:`top_ordered`, about 550 of 100k products each) and the
fresh products' cold order (40k rows of the bench's synthetic catalogue).
torch's stable sort took 3.3 ms for 40k float32 values and its ``topk`` 0.4 to
0.5 ms for 554 of 100k, on one thread; the same orders from NumPy, below, took
0.6 ms and 0.05 to 0.11 ms (docs/ranking-log.md, the sixth round):

- :func:`stable_descending` packs each float32 value and its row into one
  uint64 (the value's bits made to sort as unsigned integers, inverted for a
  descending order, in the high half; the row in the low half) and sorts the
  packed values, which NumPy does with its vectorised integer sort: one sort
  gives the order and its tie-break, with no index array to carry;
- :func:`top_ordered` cuts a long row to the scores at or above a bound read
  from a sample of it, partitions those with ``np.argpartition`` (over the
  whole row it degrades on rows of mostly equal values), then orders only the
  head.

For float32 scores both give exactly what a stable descending sort gives (tests
check them against torch's): NaN counts as the largest value, as in torch's
sort, and -0.0 equals 0.0. Other dtypes are compared as float32.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import torch
from torch import Tensor

_LOW: Final = np.uint64(0xFFFFFFFF)
_LOW32_BUT_SIGN: Final = np.uint32(0x7FFFFFFF)
_MAX_LABEL: Final = 1 << 32
_PAST: Final = np.uint64(np.iinfo(np.uint64).max)
"""A packed key that sorts after every score's (padding)."""
_STRIDE: Final = 16
"""Every how many scores of a long row :func:`_best` reads its bound from."""
_SAMPLED_FROM: Final = 32
"""Rows of at least this many times the head's length are cut by a sampled bound first."""


def _descending_keys(values: np.ndarray) -> np.ndarray:
    """uint64 keys of float32 ``values`` whose ascending order is the values' descending one.

    The value's bits sit in the high 32 bits (the low ones are free for a label).
    A non-negative value's bits count up with it, so its key keeps the sign bit
    clear and inverts the other 31; a negative one's bits count down, so its key
    is its bits as they are. Worked in 32 bits and widened once: 0.03 ms for 20k
    values against 0.15 ms in 64 bits (docs/ranking-log.md, the ninth round).
    """
    v = np.asarray(values, dtype=np.float32) + np.float32(0.0)  # -0.0 becomes 0.0
    nan = np.isnan(v)
    if nan.any():
        v = np.where(nan, np.float32(np.nan), v)  # one NaN, sorted above +inf
    bits = v.view(np.uint32)
    flip = ~(v.view(np.int32) >> 31).view(np.uint32) & _LOW32_BUT_SIGN  # 0 for negatives
    keys: np.ndarray = (bits ^ flip).astype(np.uint64) << np.uint64(32)
    return keys


def stable_descending(values: Tensor, labels: Tensor | None = None) -> Tensor:
    """int64 [..., N] ``labels`` ordered by ``values`` [..., N] descending, ties by label.

    With ``labels`` ascending along each row (the default: the positions 0..N-1)
    this is ``labels.gather(-1, values.argsort(dim=-1, descending=True,
    stable=True))``. Values are compared as float32.

    Args:
        values: float scores, ordered along the last dimension.
        labels: int64 of the same shape, each in 0..2**32 - 1 (product rows).

    Raises:
        ValueError: ``labels`` of another shape, or out of range.
    """
    v = values.detach().cpu().float().numpy()
    if labels is None:
        lab = np.broadcast_to(np.arange(v.shape[-1], dtype=np.uint64), v.shape)
    else:
        if labels.shape != values.shape:
            raise ValueError(
                f"labels of shape {tuple(labels.shape)} for values of {tuple(values.shape)}"
            )
        raw = labels.detach().cpu().numpy()
        if raw.size and (int(raw.min()) < 0 or int(raw.max()) >= _MAX_LABEL):
            raise ValueError(
                f"labels must lie in 0..2**32 - 1, got {int(raw.min())}..{int(raw.max())}"
            )
        lab = raw.astype(np.uint64)
    packed = np.sort(_descending_keys(v) | lab, axis=-1)
    return torch.from_numpy((packed & _LOW).astype(np.int64))


def _best(scores: Tensor, m: int) -> Tensor:
    """int64 [B, m] columns holding each row's ``m`` largest scores of ``scores`` [B, P], unordered.

    Rows without NaN. Long rows (at least :data:`_SAMPLED_FROM` x ``m``) are
    first cut to the scores at or above a bound read from every
    :data:`_STRIDE`-th one: its ``2m // stride + 8``-th largest, so about
    ``2m`` scores pass, which hold the row's ``m`` best whenever ``m`` or more
    do. A row where fewer than ``m`` or more than an eighth pass (ties
    at the bound, few distinct values) takes ``topk`` over the whole row.
    """
    b, p = scores.shape
    if p < _SAMPLED_FROM * m:
        return scores.topk(m, dim=1).indices
    s = scores.numpy()
    sample = s[:, ::_STRIDE]
    j = min(sample.shape[1], 2 * m // _STRIDE + 8)
    bound = np.partition(sample, sample.shape[1] - j, axis=1)[:, sample.shape[1] - j]
    out = torch.empty((b, m), dtype=torch.long)
    for r in range(b):
        cols = np.flatnonzero(s[r] >= bound[r])
        if not m <= len(cols) <= p // 8:
            out[r] = scores[r].topk(m).indices
            continue
        values = s[r, cols]
        out[r] = torch.from_numpy(cols[np.argpartition(values, len(values) - m)[len(values) - m :]])
    return out


def row_slots(rows: Tensor, num_rows: int) -> tuple[Tensor, Tensor]:
    """(slot [N], counts [num_rows]): each entry's place within its row, and each row's entries.

    ``rows`` [N] ascending (a row-major ``nonzero``'s): no sort, unlike
    :func:`~kgrec.gnn.splits.per_user_rank`.
    """
    counts = torch.bincount(rows, minlength=num_rows)
    return torch.arange(len(rows)) - (torch.cumsum(counts, 0) - counts)[rows], counts


def top_ordered(scores: Tensor, k: int) -> Tensor:
    """int64 [B, k] each row's ``k`` best columns of ``scores`` [B, P], ties by column.

    The first ``k`` of a stable descending sort (scores compared as float32).
    When no tie straddles the k-th place (the k-th and the next best values
    differ in every row) the ``k + 1`` best (:func:`_best`) hold exactly those
    columns, put in order by :func:`stable_descending`; otherwise every score
    at or above the k-th value (all the ties with it among them), packed as
    :func:`stable_descending` packs them and sorted row by row, from one pass
    over the whole row. So the result of a row depends on that row alone
    (a plain ``topk`` picks among ties by its own internal order, which changes
    with k). Rows holding a NaN score take a plain ``topk``.
    """
    b, p = scores.shape
    k = min(k, p)
    if k == 0 or b == 0:
        return torch.zeros((b, k), dtype=torch.long)
    scores = scores.detach().cpu().float()
    odd = scores.sum(1).isnan()  # a NaN score, or +inf beside -inf: those rows are checked
    if bool(odd.any()):
        odd[odd.clone()] = scores[odd].isnan().any(1)
    if bool(odd.any()):  # NaN scores: no order to keep in those rows, the others keep theirs
        out = torch.empty((b, k), dtype=torch.long)
        out[odd] = scores[odd].topk(k, dim=1).indices
        out[~odd] = top_ordered(scores[~odd], k)
        return out
    if k == p:
        return stable_descending(scores)
    head = _best(scores, k + 1)
    order = stable_descending(scores.gather(1, head), head)  # [B, k + 1] best first
    values = scores.gather(1, order)
    if not bool((values[:, k - 1] == values[:, k]).any()):
        return order[:, :k]
    # ties straddle the k-th place in some row: each row's scores at or above its
    # k-th value (every tie among them), packed with their columns, sorted per row
    rows, cols = (scores >= values[:, k - 1 : k]).nonzero(as_tuple=True)  # row by row
    slot, counts = row_slots(rows, b)
    packed = np.full((b, int(counts.max())), _PAST, dtype=np.uint64)
    r, c = rows.numpy(), cols.numpy()
    packed[r, slot.numpy()] = _descending_keys(scores.numpy()[r, c]) | c.astype(np.uint64)
    packed.sort(axis=1)
    return torch.from_numpy((packed[:, :k] & _LOW).astype(np.int64))
