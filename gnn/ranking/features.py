"""Candidates and their features: what the ranker sees for one (user, product) pair.

Each candidate generator contributes three features: its raw score, the score as
a z-score over the user's unseen products, and ``log1p`` of its rank there
(capped at :data:`RANK_CAP`). Three
more describe the situation: the user's history length, the product's
interaction count and whether it has none (``log1p`` where counts). A generator
that cannot score a user (a factor model for a user it was not trained on) gives
NaN, which the ranker treats as missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import torch
from torch import Tensor

BASE_FEATURES: Final = ("history_len", "item_count", "item_fresh")
_PER_GENERATOR: Final = ("", "_z", "_rank")
RANK_CAP: Final = 4096
"""Ranks a generator's rank feature tells apart; lower ones all read as this."""


def feature_names(generators: Sequence[str]) -> tuple[str, ...]:
    """The ordered feature names for generators ``generators``."""
    names = [f"{g}{suffix}" for g in generators for suffix in _PER_GENERATOR]
    return (*names, *BASE_FEATURES)


def _standardise(scores: Tensor, seen: Tensor) -> tuple[Tensor, Tensor]:
    """Per-row z-score and log1p rank [B, P] of ``scores`` over the unseen products.

    Ranks past :data:`RANK_CAP` are all ``RANK_CAP`` (a top-k, not a sort of all P
    products: exact on catalogues up to that size).
    """
    masked = scores.masked_fill(seen, float("nan"))
    mean = torch.nanmean(masked, dim=1, keepdim=True)
    std = torch.nanmean((masked - mean) ** 2, dim=1, keepdim=True).sqrt().clamp(min=1e-6)
    z = (scores - mean) / std
    k = min(RANK_CAP, scores.shape[1])
    top = scores.masked_fill(seen, float("-inf")).topk(k, dim=1).indices
    rank = torch.full(scores.shape, RANK_CAP, dtype=torch.long)
    rank.scatter_(1, top, torch.arange(k).expand_as(top).contiguous())
    return z, torch.log1p(rank.float())


def top_candidates(scores: Mapping[str, Tensor], exclude: Tensor, per_generator: int) -> Tensor:
    """[B, C] the union of each generator's top ``per_generator`` products, padded with -1.

    Args:
        scores: generator -> [B, P] scores.
        exclude: [B, P] bool, products never proposed (history, fresh products).
        per_generator: products taken from each generator per user.
    """
    chosen = torch.zeros_like(exclude)
    k = min(per_generator, exclude.shape[1])
    for s in scores.values():
        top = s.masked_fill(exclude, float("-inf")).topk(k, dim=1)
        chosen.scatter_(1, top.indices, ~torch.isinf(top.values))
    chosen &= ~exclude
    width = max(int(chosen.sum(1).max()), 1) if len(chosen) else 1
    # candidates first (stable), padded with -1
    order = chosen.float().argsort(dim=1, descending=True, stable=True)[:, :width]
    return torch.where(chosen.gather(1, order), order, torch.full_like(order, -1))


def candidate_features(
    scores: Mapping[str, Tensor],
    candidates: Tensor,
    seen: Tensor,
    item_count: Tensor,
    unavailable: Mapping[str, Tensor] | None = None,
) -> Tensor:
    """float32 [B, C, F] features of ``candidates`` in :func:`feature_names` order.

    Args:
        scores: generator -> [B, P] scores (the generators' order sets the features').
        candidates: [B, C] product rows, -1 = padding (its features are NaN).
        seen: [B, P] bool, the user's history (left out of z-scores and ranks).
        item_count: [P] training interactions per product.
        unavailable: generator -> [B] bool, users it cannot score (features NaN).
    """
    idx = candidates.clamp(min=0)
    columns: list[Tensor] = []
    for name, s in scores.items():
        z, rank = _standardise(s.float(), seen)
        block = [s.float().gather(1, idx), z.gather(1, idx), rank.gather(1, idx)]
        missing = (unavailable or {}).get(name)
        if missing is not None:
            block = [b.masked_fill(missing[:, None], float("nan")) for b in block]
        columns += block
    history_len = torch.log1p(seen.sum(1).float())[:, None].expand_as(idx)
    count = item_count.float()[idx]
    columns += [history_len, torch.log1p(count), (count == 0).float()]
    out = torch.stack(columns, dim=2)
    return out.masked_fill((candidates < 0)[:, :, None], float("nan"))
