"""Fusion and ranking: the batched score of a candidate set and the result types.

``score(u, q, i) = w_graph·<h_u, h_i> + w_text·<e_q, t_i> + w_pop·pop(i)``, computed
for all candidates as one matmul ``X @ W`` on the torch device, where
``X = [h_i | t_i | pop_i]`` is [C, D+T+1] and ``W`` is the [D+T+1, 3] block matrix
holding the weighted user vector, query vector and popularity weight. The three
columns of the product are the score breakdown; their sum is the score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import torch

Strategy = Literal["user", "context", "query", "popularity"]
Ranking = Literal["learned", "fused"]
"""``learned``: the staged ranking with its trained ranker; ``fused``: the weights above."""
RRF_K: Final = 60
"""Rank offset of reciprocal-rank fusion (Cormack et al. 2009 use 60)."""


@dataclass(frozen=True)
class Weights:
    """Fusion weights (from settings)."""

    graph: float
    text: float
    pop: float


@dataclass(frozen=True)
class Filters:
    """Business filters applied after scoring. Empty tuples mean no constraint."""

    categories: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    min_price: float | None = None
    max_price: float | None = None
    in_stock_only: bool = False
    exclude_purchased: bool = True
    exclude_ids: frozenset[str] = frozenset()

    @property
    def narrowing(self) -> bool:
        """True when a filter may remove items beyond the excluded ids."""
        return bool(
            self.categories
            or self.brands
            or self.min_price is not None
            or self.max_price is not None
            or self.in_stock_only
        )


@dataclass(frozen=True)
class ScoreBreakdown:
    """The weighted terms of one fused score and their sum."""

    graph: float
    text: float
    popularity: float
    total: float
    ranker: float | None = None


@dataclass(frozen=True)
class RankedItem:
    """One result with its product fields, score breakdown and optional explanation path."""

    id: str
    title: str
    price: float | None
    in_stock: bool
    brand_id: str | None
    category_ids: tuple[str, ...]
    score: ScoreBreakdown
    explanation: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class RankedList:
    """The answer of one ranking call."""

    items: list[RankedItem]
    artifact_version: str
    strategy: Strategy
    user_known: bool
    candidates: int
    notes: list[str] = field(default_factory=list)
    ranking: Ranking = "fused"


def weight_matrix(
    user: torch.Tensor | None,
    query: torch.Tensor | None,
    weights: Weights,
    graph_dim: int,
    text_dim: int,
    device: str | torch.device,
) -> torch.Tensor:
    """The [D+T+1, 3] block matrix W; a missing user or query vector gives a zero column."""
    w = torch.zeros((graph_dim + text_dim + 1, 3), dtype=torch.float32, device=device)
    if user is not None:
        w[:graph_dim, 0] = user * weights.graph
    if query is not None:
        w[graph_dim : graph_dim + text_dim, 1] = query * weights.text
    w[-1, 2] = weights.pop
    return w


def fuse(features: torch.Tensor, w: torch.Tensor, graph_dim: int) -> torch.Tensor:
    """Score breakdown [C, 3] (graph, text, popularity) of candidates ``features`` [C, D+T+1].

    ``X @ W`` with the block-diagonal ``W`` [D+T+1, 3] of :func:`weight_matrix`
    (``graph_dim`` = D). On cuda it is one GEMM; on cpu the dense [C, F] x [F, 3]
    GEMM is badly served by the BLAS kernels (62 ms at C=100k, F=449 on one
    core), so the same product is taken block by block, reading X once (21 ms).
    """
    if features.device.type != "cpu":
        return features @ w
    text_end = w.shape[0] - 1
    g = features[:, :graph_dim] @ w[:graph_dim, 0]
    t = features[:, graph_dim:text_end] @ w[graph_dim:text_end, 1]
    p = features[:, text_end] * w[text_end, 2]
    return torch.stack([g, t, p], dim=1)


def top_k(components: torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions [k'] of the k best totals and the breakdown [k', 3] as numpy, best first."""
    total = components.sum(dim=1)
    k = min(k, int(total.shape[0]))
    if k == 0:
        return np.zeros(0, np.int64), np.zeros((0, 3), np.float32)
    best = torch.topk(total, k).indices
    return best.cpu().numpy(), components[best].cpu().numpy()


def reciprocal_rank_fusion(
    lists: Sequence[np.ndarray], weights: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``lists`` (each int64 [n_i], best first) ordered by their fused score
    ``sum_i weights[i] / (RRF_K + rank_i)`` (1-based ranks; a row absent from a list
    gets nothing from it).

    Returns:
        rows [R] best first and their scores [R].
    """
    parts = [r for r in lists if len(r)]
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    rows = np.concatenate(parts)
    scores = np.concatenate(
        [
            w / (RRF_K + np.arange(1, len(r) + 1))
            for r, w in zip(lists, weights, strict=True)
            if len(r)
        ]
    )
    unique, inverse = np.unique(rows, return_inverse=True)
    total = np.bincount(inverse, weights=scores, minlength=len(unique))
    order = np.argsort(-total, kind="stable")
    return unique[order].astype(np.int64), total[order]
