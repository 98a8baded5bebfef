"""Ranking metrics over full score matrices: Recall@K and NDCG@K."""

from __future__ import annotations

import torch
from torch import Tensor


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
