"""The fused ranking: candidates, filters, features and one weighted matmul.

Candidates are the union of ANN hits in graph space (user vector), text space
(query vector), the popularity top list, neighbours of the context item and
the online products; they are scored as one matmul by :func:`kgrec.api.ranking.fuse`.
:func:`keep_mask` (the filters over global rows) also serves the learned ranking.
"""

from __future__ import annotations

import numpy as np
import torch

from kgrec.api.options import Candidates
from kgrec.api.ranking import Filters, RankedItem, Weights, fuse, top_k, weight_matrix
from kgrec.api.state import ServedState


def keep_mask(
    state: ServedState, rows: np.ndarray, filters: Filters, exclude_rows: set[int]
) -> np.ndarray:
    """Mark the rows passing every filter, as bool [len(rows)]."""
    cat, ov = state.catalogue, state.overlay
    p = cat.size
    base = rows < p
    local = np.where(base, rows, 0)
    online = np.where(base, 0, rows - p)
    price = np.where(base, cat.price[np.minimum(local, p - 1)] if p else np.nan, np.nan)
    stock = np.where(base, cat.in_stock[np.minimum(local, p - 1)] if p else True, True)
    if ov.size:
        price = np.where(base, price, ov.price[np.minimum(online, ov.size - 1)])
        stock = np.where(base, stock, ov.in_stock[np.minimum(online, ov.size - 1)])
    keep = np.ones(len(rows), dtype=bool)
    if filters.min_price is not None:
        keep &= price >= filters.min_price
    if filters.max_price is not None:
        keep &= price <= filters.max_price
    if filters.in_stock_only:
        keep &= stock
    if filters.categories or filters.brands:
        allowed = cat.rows_in(filters.categories, filters.brands)
        wanted_cats: set[str] = set()
        for c in filters.categories:
            wanted_cats |= cat.tree.descendants(c)
        online_allowed = ov.rows_in(wanted_cats, set(filters.brands)) + p
        allowed_all = np.concatenate([allowed if allowed is not None else [], online_allowed])
        keep &= np.isin(rows, allowed_all)
    drop = exclude_rows | set(ov.shadowed)
    if drop:
        keep &= ~np.isin(rows, np.fromiter(drop, dtype=np.int64, count=len(drop)))
    return keep


def allowed_rows(state: ServedState, filters: Filters) -> np.ndarray:
    """Every global row passing the category/brand filters (all rows when none)."""
    cat, ov = state.catalogue, state.overlay
    base = cat.rows_in(filters.categories, filters.brands)
    if base is None:
        return np.arange(state.size, dtype=np.int64)
    wanted: set[str] = set()
    for c in filters.categories:
        wanted |= cat.tree.descendants(c)
    return np.concatenate([base, ov.rows_in(wanted, set(filters.brands)) + cat.size])


def _tensor(vec: np.ndarray | None, device: str) -> torch.Tensor | None:
    return None if vec is None else torch.from_numpy(np.asarray(vec, np.float32)).to(device)


class FusedRanking:
    """The weighted ranking of candidates: graph, text and popularity parts.

    Args:
        candidates: candidate counts and ``exact_filter_max_items``.
        weights: the fused weights.
        device: where the vectors live.
    """

    def __init__(self, candidates: Candidates, weights: Weights, device: str) -> None:
        self.candidate_counts = candidates
        self.weights = weights
        self.device = device

    def rank(
        self,
        state: ServedState,
        *,
        user_vec: np.ndarray | None,
        query_vec: np.ndarray | None,
        k: int,
        filters: Filters,
        exclude_rows: set[int],
        context_rows: list[int],
        notes: list[str],
    ) -> tuple[list[RankedItem], int]:
        """The top ``k`` items after the filters and the number of rows scored.

        A note is appended to ``notes`` when the filters widened to a full scan.
        """
        allowed: np.ndarray | None = None
        if filters.categories or filters.brands:
            allowed = allowed_rows(state, filters)
        if allowed is not None and len(allowed) <= self.candidate_counts.exact_filter_max_items:
            rows = allowed  # selective filter: score every matching product exactly
        else:
            rows = self.candidates(state, user_vec, query_vec, context_rows)
        rows = rows[keep_mask(state, rows, filters, exclude_rows)]
        if len(rows) < k and filters.narrowing:
            everything = allowed if allowed is not None else np.arange(state.size, dtype=np.int64)
            if len(everything) > self.candidate_counts.exact_filter_max_items:
                notes.append("few candidates passed the filters; widened to a full scan")
            rows = everything[keep_mask(state, everything, filters, exclude_rows)]
        w = weight_matrix(
            _tensor(user_vec, self.device),
            _tensor(query_vec, self.device),
            self.weights,
            state.catalogue.graph_dim,
            state.catalogue.text_dim,
            self.device,
        )
        positions, parts = top_k(fuse(self.features(state, rows), w, state.catalogue.graph_dim), k)
        items = [
            state.item(int(rows[pos]), part) for pos, part in zip(positions, parts, strict=True)
        ]
        return items, len(rows)

    def candidates(
        self,
        state: ServedState,
        user_vec: np.ndarray | None,
        query_vec: np.ndarray | None,
        context_rows: list[int],
    ) -> np.ndarray:
        """Union of ANN hits per space, the popularity list, context neighbours, online items."""
        s = self.candidate_counts
        cat, ov = state.catalogue, state.overlay
        parts: list[np.ndarray] = [cat.pop_top]
        if user_vec is not None and s.graph:
            parts.append(cat.graph_index.search(user_vec, s.graph)[1][0])
        if query_vec is not None and s.text:
            parts.append(cat.text_index.search(query_vec, s.text)[1][0])
        if context_rows and s.context:
            ctx = state.graph_rows(np.asarray(context_rows, np.int64))
            parts.append(cat.graph_index.search(ctx, s.context)[1].ravel())
        if ov.size:
            parts.append(cat.size + self._online_candidates(state, user_vec, query_vec))
        rows = np.unique(np.concatenate(parts))
        return rows[rows >= 0]

    def _online_candidates(
        self, state: ServedState, user_vec: np.ndarray | None, query_vec: np.ndarray | None
    ) -> np.ndarray:
        """Local rows of online products: all of them, or the exact top per space when many."""
        ov, s = state.overlay, self.candidate_counts
        limit = max(s.graph, s.text)
        if ov.size <= limit:
            return np.arange(ov.size, dtype=np.int64)
        parts = [np.zeros(0, np.int64)]
        for tensor, vec in ((ov.graph_tensor(), user_vec), (ov.text_tensor(), query_vec)):
            if vec is not None:
                scores = tensor @ torch.from_numpy(np.asarray(vec, np.float32)).to(self.device)
                parts.append(torch.topk(scores, limit).indices.cpu().numpy())
        return np.unique(np.concatenate(parts))

    def features(self, state: ServedState, rows: np.ndarray) -> torch.Tensor:
        """[C, D+T+1] candidate features: graph vector, text vector, popularity."""
        cat, ov = state.catalogue, state.overlay
        p = cat.size
        base = torch.from_numpy(rows[rows < p]).to(self.device)
        online = torch.from_numpy(rows[rows >= p] - p).to(self.device)
        base_feats = torch.cat([cat.graph[base], cat.text[base], cat.pop[base].unsqueeze(1)], dim=1)
        if not len(online):
            return base_feats
        online_feats = torch.cat(
            [
                ov.graph_tensor()[online],
                ov.text_tensor()[online],
                torch.zeros((len(online), 1), device=self.device),
            ],
            dim=1,
        )
        return torch.cat([base_feats, online_feats], dim=0)
