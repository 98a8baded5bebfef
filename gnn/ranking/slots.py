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
        [W + F] rows: fresh ones at the reserved positions, the ranker's elsewhere;
        when one list runs out the other fills the rest.
    """
    out: list[int] = []
    w = warm.tolist()
    f = fresh.tolist()
    i = j = 0
    while i < len(w) or j < len(f):
        take_fresh = j < len(f) and (i >= len(w) or is_fresh_slot(len(out), share))
        if take_fresh:
            out.append(f[j])
            j += 1
        else:
            out.append(w[i])
            i += 1
    return warm.new_tensor(out, dtype=warm.dtype)


def fresh_order_scores(scores: Mapping[str, Tensor], names: Sequence[str], fresh: Tensor) -> Tensor:
    """[B, P] sum of the ``names`` generators' z-scores over each user's fresh products.

    Args:
        scores: generator -> [B, P] scores.
        names: the generators summed.
        fresh: [B, P] bool, each user's fresh products (the z-scores' population).
    """
    total = torch.zeros_like(fresh, dtype=torch.float32)
    count = fresh.sum(1, keepdim=True).clamp(min=1)
    for name in names:
        s = scores[name].masked_fill(~fresh, 0.0)
        mean = s.sum(1, keepdim=True) / count
        var = ((s - mean).masked_fill(~fresh, 0.0) ** 2).sum(1, keepdim=True) / count
        total += (s - mean) / var.sqrt().clamp(min=1e-6)
    return total
