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

    def described(self) -> str:
        """The narrowing filters as a reader names them: ``category footwear, min_price 30``."""
        parts = [f"category {c}" for c in self.categories]
        parts += [f"brand {b}" for b in self.brands]
        parts += [f"min_price {self.min_price:g}"] if self.min_price is not None else []
        parts += [f"max_price {self.max_price:g}"] if self.max_price is not None else []
        parts += ["in_stock_only"] if self.in_stock_only else []
        return ", ".join(parts)


@dataclass(frozen=True)
class ScoreBreakdown:
    """The weighted terms of one fused score and their sum."""

    graph: float
    text: float
    popularity: float
    total: float
    ranker: float | None = None


ReasonKind = Literal["history", "context", "query", "fresh", "taste", "popularity"]
"""What a reason rests on: a product of the shopper's history (``history``), the
product being viewed (``context``), the query, the fresh-product slots, the
shopper's vector alone (``taste``), or popularity (nothing personal known)."""


@dataclass(frozen=True)
class ReasonNode:
    """A graph node a reason names.

    Its kgrec ``id``, node ``label`` (``Product``, ``Brand``, ``Category``,
    ``Entity``, ``User``), ``name`` (a product's title, a node's name; None when the
    node has none, e.g. a Freebase id) and an entity's ``kind`` as the graph holds
    it ('person', 'genre'; None when it has none).
    """

    id: str
    label: str
    name: str | None = None
    kind: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The node as a dict, like the path dicts of :meth:`kgrec.graph.GraphStore.explain_path`.

        Keys ``label``, ``id``, ``name``, and ``kind`` when set.
        """
        out: dict[str, Any] = {"label": self.label, "id": self.id, "name": self.name}
        if self.kind is not None:
            out["kind"] = self.kind
        return out


@dataclass(frozen=True)
class ReasonProduct:
    """A product a reason names (the history or context product it goes through)."""

    id: str
    title: str


@dataclass(frozen=True)
class ReasonLink:
    """A relationship on a reason's path.

    ``type`` is a stored relationship type (``INTERACTED``, ``HAS_BRAND``,
    ``IN_CATEGORY``, ``HAS_ENTITY``) with its ``kind`` (an interaction's) or
    ``relation`` (a knowledge-graph one), or ``SIMILAR``: not stored, the
    ``generator`` whose neighbour table links the two products (``item_knn``:
    shoppers chose both; ``kg_knn``: graph neighbours; ``text_knn``).
    """

    type: str
    kind: str | None = None
    relation: str | None = None
    generator: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The fields that are set.

        They are the path dicts of :meth:`kgrec.graph.GraphStore.explain_path`.
        """
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class ReasonRelation:
    """One thing the history product and the recommended one share.

    The readable ``label`` ('brand', 'category', 'directed by'), the relationship
    ``type``, the knowledge-graph ``relation`` as stored (None for brand and
    category) and the node.
    """

    label: str
    type: str
    relation: str | None
    node: ReasonNode


@dataclass(frozen=True)
class Reason:
    """Why a product was recommended, grounded in what ranked it.

    Attributes:
        sentence: the reason in words ("Because you rated Star Wars: directed by
            the same person, George Lucas").
        kind: what it rests on (:data:`ReasonKind`).
        generators: what proposed the product: candidate generators of the learned
            ranking (``SERVED_GENERATORS``: ``gnn``, ``popularity``, ``item_knn``,
            ``next_item``, ...) plus ``query`` (the query's
            text order) and ``fresh`` (a fresh-product slot); for the fused ranking
            the largest term of the score (``graph``, ``text``, ``popularity``).
        via: the history (or context) product that contributes most, by the
            neighbour tables' similarity; None when none does.
        relations: what ``via`` and the product share in the graph (empty when they
            share nothing there or the graph did not answer).
        path: alternating :class:`ReasonNode` and :class:`ReasonLink`, from the
            shopper (or the context product) through ``via`` to the product; empty
            when there is no ``via``.
    """

    sentence: str
    kind: ReasonKind
    generators: tuple[str, ...] = ()
    via: ReasonProduct | None = None
    relations: tuple[ReasonRelation, ...] = ()
    path: tuple[ReasonNode | ReasonLink, ...] = ()

    def path_dicts(self) -> list[dict[str, Any]] | None:
        """The path as the alternating dicts of ``explanation`` (None when empty)."""
        if not self.path:
            return None
        return [s.as_dict() for s in self.path]


@dataclass(frozen=True)
class RankedItem:
    """One result with its product fields, score breakdown and, with ``explain``, its reason.

    ``explanation`` holds the reason's path as dicts, kept for older clients.
    """

    id: str
    title: str
    price: float | None
    in_stock: bool
    brand_id: str | None
    category_ids: tuple[str, ...]
    score: ScoreBreakdown
    explanation: list[dict[str, Any]] | None = None
    reason: Reason | None = None


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
    """Fuse ranked ``lists`` (each int64 [n_i], best first) by reciprocal rank.

    Rows are ordered by their fused score ``sum_i weights[i] / (RRF_K + rank_i)``
    (1-based ranks; a row absent from a list gets nothing from it). Each list
    holds a row at most once.

    Returns:
        rows [R] best first and their scores [R].
    """
    parts = [(r, w) for r, w in zip(lists, weights, strict=True) if len(r)]
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    if len(parts) == 1 and parts[0][1] > 0:  # one list keeps its order: no sort of it
        only, weight = parts[0]
        return only.astype(np.int64), weight / (RRF_K + np.arange(1, len(only) + 1))
    rows = np.concatenate([r for r, _ in parts])
    scores = np.concatenate([w / (RRF_K + np.arange(1, len(r) + 1)) for r, w in parts])
    unique, inverse = np.unique(rows, return_inverse=True)
    total = np.bincount(inverse, weights=scores, minlength=len(unique))
    order = np.argsort(-total, kind="stable")
    return unique[order].astype(np.int64), total[order]
