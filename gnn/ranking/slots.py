"""Fresh-product slots: a share of every answer kept for products without interactions.

Fresh products (no interaction yet) never go through the ranker; they are ordered
by the cold path (:func:`fresh_order_scores`), drawn per shopper around that
order (:func:`drawn_fresh_order`) and merged in at the fresh slots
(:func:`merge_fresh`).

Why the draw: the cold path's order is much the same for every shopper (its
predicted popularity is the same for all), so without it the slots of
MovieLens-100K's 849 warm test shoppers showed 9 to 10 % of the fresh products
to anyone; a product nobody is shown never gathers the interactions that would
make it warm. With Gumbel noise at temperature 0.5 (z units of the cold order)
they showed 20 to 25 %, for 5 to 6 % fewer fresh products that shoppers went on
to pick found in their top 20 (docs/ranking.md, A draw per shopper at the fresh
slots).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import numpy as np
import torch
from torch import Tensor

from kgrec.gnn.ranking.ordering import stable_descending, top_ordered

_POSITIVE: Final = np.uint64((1 << 63) - 1)
_MIX: Final = (np.uint64(0x5851F42D4C957F2D), np.uint64(0x14057B7EF767814F))
_U: Final = {n: np.uint64(n) for n in (29, 31, 32)}
_BITS: Final = 52
_FRACTION: Final = np.uint64((1 << _BITS) - 1)
_MAX_KEY: Final = 1 << 41


def is_fresh_slot(position: int, share: float) -> bool:
    """True when 0-based ``position`` of an answer is reserved for a fresh product.

    With ``share`` s, positions ``1/s - 1, 2/s - 1, ...`` are fresh (s = 0.1: the
    10th, 20th, ... result), so every prefix of an answer holds ``floor(n * s)``
    fresh slots whatever k a caller asks for.
    """
    if share <= 0:
        return False
    return math.floor((position + 1) * share) > math.floor(position * share)


def merge_fresh(warm: Tensor, fresh: Tensor, share: float) -> Tensor:
    """One ranked list from the ranker's order and the fresh products' order.

    Args:
        warm: [W] product rows in ranker order.
        fresh: [F] fresh product rows in cold-path order.
        share: share of positions reserved for fresh products (0 = none).

    Returns:
        [W + F] rows: fresh ones at the reserved positions (:func:`is_fresh_slot`),
        the ranker's elsewhere; when one list runs out the other fills the rest
        (:func:`fresh_positions`).
    """
    return _merged(warm, fresh, fresh_positions(len(warm), len(fresh), share))


def _merged(warm: Tensor, fresh: Tensor, take_fresh: Tensor) -> Tensor:
    """[W + F] ``fresh`` at the True positions of ``take_fresh``, ``warm`` at the others."""
    out = torch.empty(len(take_fresh), dtype=warm.dtype)
    out[take_fresh] = fresh.to(warm.dtype)
    out[~take_fresh] = warm
    return out


def fresh_positions(warm: int, fresh: int, share: float, limit: int | None = None) -> Tensor:
    """The positions :func:`merge_fresh` gives the fresh list: bool [warm + fresh].

    The reserved positions (:func:`is_fresh_slot`) while both lists last; after
    one list runs out, the other takes every position. NumPy's float64 passes
    here took 0.07 ms for 21k positions against torch's 0.27 ms. With ``limit``,
    the first ``limit`` of those positions alone: bool [min(warm + fresh, limit)].
    """
    n = warm + fresh if limit is None else min(warm + fresh, limit)
    position = np.arange(n, dtype=np.float64)
    slot = (
        np.floor((position + 1) * share) > np.floor(position * share)
        if share > 0
        else np.zeros(n, dtype=bool)
    )
    # where each list runs out: after it, the other list takes every position
    warm_end = _nth_position(~slot, warm)
    fresh_end = _nth_position(slot, fresh)
    if warm_end < fresh_end:
        slot[warm_end + 1 :] = True
    else:
        slot[fresh_end + 1 :] = False
    return torch.from_numpy(slot)


def served_list(
    candidates: Tensor,
    ranked: Tensor,
    order_key: Tensor,
    fresh: Tensor,
    cold: Tensor,
    share: float,
    limit: int | None = None,
) -> tuple[Tensor, Tensor]:
    """One shopper's served list: the ranked candidates with the fresh products at their slots.

    Args:
        candidates: [C] warm product rows, -1 padding.
        ranked: [C] their ranker scores (-inf: padding, never served).
        order_key: [C] what puts them in order (``ranked``, or another generator's
            scores for a shopper without history); ties keep candidate order.
        fresh: [F] the shopper's fresh product rows, ascending (none of ``candidates``).
        cold: [F] their cold-path scores (:func:`drawn_fresh_order`); ties by row.
        share: share of positions reserved for fresh products (:func:`merge_fresh`).
        limit: only the list's first ``limit`` positions (None: all of it). The
            same positions as the whole list's, from a partial order of the
            fresh products (:func:`~kgrec.gnn.ranking.ordering.top_ordered`):
            the service reads the head of the list, and the bench's 40k fresh
            products took a third of a millisecond to sort in full.

    Returns:
        (served rows [S] best first, their ranker scores [S]: NaN at the fresh slots).
    """
    order = stable_descending(order_key)
    finite = torch.isfinite(ranked[order])
    warm, warm_scores = candidates[order][finite], ranked[order][finite]
    take_fresh = fresh_positions(len(warm), len(fresh), share, limit)
    shown = int(take_fresh.sum())
    if shown < len(fresh) and not bool(cold.isnan().any()):
        # ties by position are ties by row: ``fresh`` is ascending
        fresh_order = fresh[top_ordered(cold[None, :], shown)[0]]
    else:  # the whole order (a NaN score: top_ordered keeps no order among them)
        fresh_order = stable_descending(cold, fresh)[:shown]
    warm_shown = len(take_fresh) - shown
    served = _merged(warm[:warm_shown], fresh_order, take_fresh)
    scores = torch.full((len(served),), float("nan"))
    scores[~take_fresh] = warm_scores[:warm_shown]  # the warm rows keep their order
    return served, scores


def _nth_position(mask: np.ndarray, count: int) -> int:
    """The position of the ``count``-th True of ``mask`` (-1 for 0; len(mask) if fewer)."""
    if count == 0:
        return -1
    where = np.flatnonzero(mask)
    return int(where[count - 1]) if count <= len(where) else len(mask)


def fresh_order_scores(scores: Mapping[str, Tensor], names: Sequence[str], mine: Tensor) -> Tensor:
    """[B, C] sum of the ``names`` signals' z-scores over each user's fresh products.

    Read only where ``mine`` is True; elsewhere the values mean nothing.

    Args:
        scores: signal -> [B, C] scores at the catalogue's fresh products (its C
            columns, the same for every user).
        names: the signals summed.
        mine: [B, C] bool, each user's fresh products among those columns (the
            z-scores' population). Every user's sums run over the same columns,
            so a shopper's values are the same, bit for bit, alone and in any
            batch (columns found per batch put other zeros in the sums and moved
            their float32 rounding).
    """
    part = torch.zeros(mine.shape, dtype=torch.float32)
    if mine.shape[1] == 0:
        return part
    count = mine.sum(1, keepdim=True).clamp(min=1)
    for name in names:
        s = scores[name].float().masked_fill(~mine, 0.0)
        mean = s.sum(1, keepdim=True) / count
        var = ((s - mean).masked_fill(~mine, 0.0) ** 2).sum(1, keepdim=True) / count
        part += (s - mean) / var.sqrt().clamp(min=1e-6)
    return part


def _mix(x: np.ndarray) -> np.ndarray:
    """uint64 hash of uint64 ``x`` below 2**63, elementwise (a SplitMix64-style finaliser).

    NumPy's uint64 products wrap modulo 2**64 by definition; each is masked below
    2**63 again, so the bits are those of the same steps in signed 64-bit
    integers, whatever the platform.
    """
    x = ((x ^ (x >> _U[31])) * _MIX[0]) & _POSITIVE
    x = ((x ^ (x >> _U[29])) * _MIX[1]) & _POSITIVE
    out: np.ndarray = x ^ (x >> _U[32])
    return out


def fresh_draw_noise(keys: Tensor, columns: Tensor, temperature: float) -> Tensor:
    """float32 [B, C]: ``temperature`` x a Gumbel draw fixed per (key, product row).

    Added to the cold path's scores before the fresh products are sorted
    (:func:`drawn_fresh_order`), it draws each shopper's fresh order at random,
    each product in proportion to ``exp(score / temperature)`` (the Gumbel-max
    trick): shoppers with the same scores see different fresh products, the
    likelier ones more often. The draw is a hash of the key and the product row,
    not a random generator: a shopper draws the same on every request and in
    the evaluation, whatever the batch.

    Args:
        keys: int64 [B] in 0..2**41: one per shopper (its user row, or
            :func:`shopper_key` for a shopper the version lacks).
        columns: int64 [C] product rows (non-negative).
        temperature: the noise's scale in z units of the cold order (0 = none).

    Raises:
        ValueError: a key or product row out of range.
    """
    if temperature <= 0 or len(keys) == 0 or len(columns) == 0:
        return torch.zeros((len(keys), len(columns)))
    if int(keys.min()) < 0 or int(keys.max()) > _MAX_KEY or int(columns.min()) < 0:
        raise ValueError(
            f"fresh draw keys must lie in 0..2**41 and product rows be non-negative, got keys "
            f"{int(keys.min())}..{int(keys.max())} and rows from {int(columns.min())}"
        )
    k = keys.numpy().astype(np.uint64)[:, None]
    seeded = _mix(k * np.uint64(1_000_003) + np.uint64(7))
    c = columns.numpy().astype(np.uint64)[None, :]
    bits = _mix((seeded + c) & _POSITIVE) & _FRACTION
    uniform = (bits.astype(np.float64) + 0.5) / float(1 << _BITS)  # in (0, 1)
    return torch.from_numpy((temperature * -np.log(-np.log(uniform))).astype(np.float32))


def drawn_fresh_order(cold: Tensor, columns: Tensor, keys: Tensor, temperature: float) -> Tensor:
    """[B, C] the cold path's scores ``cold`` with each shopper's draw added.

    Read, like ``cold``, only on each user's fresh products.

    Args:
        cold: [B, C] :func:`fresh_order_scores` at the catalogue's fresh products.
        columns: int64 [C] those products' rows.
        keys: int64 [B] the shoppers' draw keys (:func:`fresh_draw_noise`).
        temperature: the draw's temperature (0 = ``cold`` as it is).

    Raises:
        ValueError: ``keys`` is not one per row of ``cold``, or a key is out of range.
    """
    if len(keys) != len(cold):
        raise ValueError(f"one draw key per user: {len(keys)} keys for {len(cold)} users")
    if temperature <= 0 or len(columns) == 0:
        return cold
    return cold + fresh_draw_noise(keys, columns, temperature)


def shopper_key(shopper_id: str) -> int:
    """The :func:`fresh_draw_noise` key of a shopper the artifact version lacks.

    Past every user row (2**40 and up), stable across processes (CRC-32 of the
    id, not Python's salted ``hash``).
    """
    return (1 << 40) + zlib.crc32(shopper_id.encode("utf-8"))


class WithoutFreshSlots:
    """A served ranking with the fresh-slot policy off (fresh products last), for the report.

    Args:
        served: ``(users [B], history [2, E], share) -> [B, P]`` the served order as
            scores (``StagedRanking``'s, called with share 0).
        name: the method name in reports.
    """

    def __init__(self, served: Callable[[Tensor, Tensor, float], Tensor], name: str) -> None:
        self._served = served
        self.name = name

    def fit(self, train: Tensor, num_users: int, num_items: int, val: Tensor | None = None) -> None:
        """Nothing to fit: the stages are shared with the staged ranking."""

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P] the served order with no fresh slots."""
        return self._served(users, history, 0.0)
