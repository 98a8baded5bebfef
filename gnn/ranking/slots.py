"""Fresh-product slots: a share of every answer kept for products without interactions.

Fresh products (no interaction yet) never go through the ranker; they are ordered
by the cold path (:func:`fresh_order_scores`) and merged in at the fresh slots
(:func:`merge_fresh`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor


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
        the ranker's elsewhere; when one list runs out the other fills the rest.
    """
    n = len(warm) + len(fresh)
    position = torch.arange(n, dtype=torch.float64)
    slot = (
        torch.floor((position + 1) * share) > torch.floor(position * share)
        if share > 0
        else torch.zeros(n, dtype=torch.bool)
    )
    # where each list runs out: after it, the other list takes every position
    warm_end = _nth_position(~slot, len(warm))
    fresh_end = _nth_position(slot, len(fresh))
    take_fresh = slot.clone()
    if warm_end < fresh_end:
        take_fresh[warm_end + 1 :] = True
    else:
        take_fresh[fresh_end + 1 :] = False
    out = torch.empty(n, dtype=warm.dtype)
    out[take_fresh] = fresh.to(warm.dtype)
    out[~take_fresh] = warm
    return out


def _nth_position(mask: Tensor, count: int) -> int:
    """The position of the ``count``-th True of ``mask`` (-1 for 0; len(mask) if fewer)."""
    if count == 0:
        return -1
    where = mask.nonzero().flatten()
    return int(where[count - 1]) if count <= len(where) else len(mask)


def fresh_order_scores(scores: Mapping[str, Tensor], names: Sequence[str], fresh: Tensor) -> Tensor:
    """[B, P] sum of the ``names`` generators' z-scores over each user's fresh products.

    Args:
        scores: generator -> [B, P] scores.
        names: the generators summed.
        fresh: [B, P] bool, each user's fresh products (the z-scores' population).
    """
    total = torch.zeros_like(fresh, dtype=torch.float32)
    columns = fresh.any(0).nonzero().flatten()  # only fresh products are read
    if len(columns) == 0:
        return total
    mine = fresh[:, columns]
    count = mine.sum(1, keepdim=True).clamp(min=1)
    part = torch.zeros(mine.shape, dtype=torch.float32)
    for name in names:
        s = scores[name][:, columns].float().masked_fill(~mine, 0.0)
        mean = s.sum(1, keepdim=True) / count
        var = ((s - mean).masked_fill(~mine, 0.0) ** 2).sum(1, keepdim=True) / count
        part += (s - mean) / var.sqrt().clamp(min=1e-6)
    total[:, columns] = part
    return total
