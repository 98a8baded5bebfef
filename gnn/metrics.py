"""Ranking metrics over full score matrices: Recall@K and NDCG@K, and what answers expose.

Recall and NDCG judge each test user's answer by what that user did next.
Exposure judges the answers together: how much of the catalogue, and of its
fresh products (no training interaction), reaches any test user's top K
(:func:`answer_tops`, :func:`exposure_metrics`). A fresh product that nobody is
shown never gathers the interactions that would make it warm, and no recall
figure counts that.
"""

from __future__ import annotations

from typing import Final

import torch
from torch import Tensor

EXPOSURE_K: Final = 20
"""The answer length the exposure metrics read (the report's Recall@20 cut-off)."""


def rank_metrics(
    scores: Tensor, targets: Tensor, exclude: Tensor | None = None, ks: tuple[int, ...] = (10, 20)
) -> dict[str, Tensor]:
    """Per-user Recall@K and NDCG@K.

    Args:
        scores: [B, P] scores of every candidate item for B users.
        targets: [B, P] bool, the held-out items of each user.
        exclude: [B, P] bool, items never ranked (training interactions).
        ks: cut-offs.

    Returns:
        ``{"recall@10": [B], "ndcg@10": [B], ...}``; users without targets get NaN.
    """
    scores = scores.float().clone()
    if exclude is not None:
        scores[exclude] = float("-inf")
    kmax = min(max(ks), scores.shape[1])
    top = scores.topk(kmax, dim=1).indices
    hits = targets.gather(1, top).float()  # [B, kmax]
    n_true = targets.sum(dim=1).float()
    discount = 1.0 / torch.log2(torch.arange(2, kmax + 2, dtype=torch.float32))
    out: dict[str, Tensor] = {}
    for k in ks:
        kk = min(k, kmax)
        recall = hits[:, :kk].sum(1) / n_true
        dcg = (hits[:, :kk] * discount[:kk]).sum(1)
        ideal_len = torch.clamp(n_true, max=kk).long()
        idcg = torch.cumsum(discount[:kk], 0)[torch.clamp(ideal_len - 1, min=0)]
        ndcg = dcg / idcg
        nan = torch.full_like(recall, float("nan"))
        out[f"recall@{k}"] = torch.where(n_true > 0, recall, nan)
        out[f"ndcg@{k}"] = torch.where(n_true > 0, ndcg, nan)
    return out


def mean_metrics(per_user: dict[str, Tensor]) -> dict[str, float]:
    """Mean over users with targets."""
    return {k: float(torch.nanmean(v)) for k, v in per_user.items()}


def answer_tops(scores: Tensor, exclude: Tensor | None, k: int = EXPOSURE_K) -> Tensor:
    """int64 [B, k]: each user's ``k`` best products, -1 past the ones ranked.

    Args:
        scores: [B, P] scores; ``-inf`` (or NaN) marks a product the method does not rank.
        exclude: [B, P] bool, products never shown (the user's history, products
            outside the view's candidates).
        k: answer length (at most P).
    """
    scores = scores.float().masked_fill(scores.isnan(), float("-inf"))  # a copy
    if exclude is not None:
        scores[exclude] = float("-inf")
    values, top = scores.topk(min(k, scores.shape[1]), dim=1)
    return top.masked_fill(torch.isneginf(values), -1)


def fresh_places(tops: Tensor, fresh: Tensor) -> Tensor:
    """float32 [B]: the share of each answer's ``k`` places held by a ``fresh`` [P] product.

    ``tops`` [B, k] as :func:`answer_tops` gives it (-1 = an empty place, not fresh).
    """
    if tops.shape[1] == 0:
        return torch.zeros(len(tops))
    held = fresh[tops.clamp(min=0)] & (tops >= 0)
    return held.float().mean(1)


def exposure_metrics(shown: Tensor, ranked: Tensor, fresh: Tensor) -> dict[str, float]:
    """Catalogue coverage of a view's answers.

    Args:
        shown: [P] bool, products in at least one test user's top ``EXPOSURE_K``.
        ranked: [P] bool, products the view ranks (its candidates).
        fresh: [P] bool, products without a training interaction.

    Returns:
        ``coverage@K``: the share of ``ranked`` products shown; ``fresh_coverage@K``:
        the same among the fresh ones (NaN when the view ranks none).
    """
    k = EXPOSURE_K
    out = {f"coverage@{k}": float((shown & ranked).sum()) / max(int(ranked.sum()), 1)}
    new = ranked & fresh
    count = int(new.sum())
    out[f"fresh_coverage@{k}"] = float((shown & new).sum()) / count if count else float("nan")
    return out
