"""Catalogue: the immutable serving state built from one artifact version.

Built once per artifact version (at start and on every swap) and never changed
afterwards, so a request that holds a reference keeps a consistent view while a
swap replaces it. Tables become compact arrays (the DataFrames are dropped):
prices, stock, brand codes, category -> rows inverted lists and the category tree.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from kgrec.api.index import GRAPH_INDEX, TEXT_INDEX, IndexOptions, VectorIndex
from kgrec.api.personal import PersonalRanking
from kgrec.gnn.artifacts import ArtifactSet


def _as_list(value: Any) -> list[str]:
    """A parquet list cell (list, ndarray or None) as a list of strings."""
    if value is None:
        return []
    if isinstance(value, float) and np.isnan(value):
        return []
    return [str(v) for v in value]


def _inverted(keys: Sequence[list[str]]) -> dict[str, np.ndarray]:
    """Map each key of a per-row list of keys to the int64 rows holding it."""
    lengths = np.fromiter((len(k) for k in keys), dtype=np.int64, count=len(keys))
    rows = np.repeat(np.arange(len(keys), dtype=np.int64), lengths)
    flat = pd.Series([v for k in keys for v in k], dtype=object)
    if not len(flat):
        return {}
    codes, uniques = pd.factorize(flat)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return {str(u): rows[order[bounds[i] : bounds[i + 1]]] for i, u in enumerate(uniques.tolist())}


@dataclass(frozen=True)
class CategoryTree:
    """Parent -> children links of the category tree (categories.parquet)."""

    children: dict[str, tuple[str, ...]]
    names: dict[str, str]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> CategoryTree:
        """Build from a frame with ``id``, ``name``, ``parent_id``."""
        children: dict[str, list[str]] = {}
        names: dict[str, str] = {}
        for row in frame.itertuples(index=False):
            cid = str(row.id)
            names[cid] = str(getattr(row, "name", cid) or cid)
            parent = getattr(row, "parent_id", None)
            if parent is not None and not (isinstance(parent, float) and np.isnan(parent)):
                children.setdefault(str(parent), []).append(cid)
        return cls({k: tuple(v) for k, v in children.items()}, names)

    def descendants(self, category_id: str) -> set[str]:
        """The category and every category below it."""
        seen = {category_id}
        stack = [category_id]
        while stack:
            for child in self.children.get(stack.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return seen


class Catalogue:
    """Arrays, tensors and indexes of one artifact version (read-only after construction).

    Shapes: ``graph`` [P, D] and ``text`` [P, T] float32 tensors on ``device``,
    ``pop`` [P]; ``price`` float32 [P] (NaN = unknown), ``in_stock`` bool [P],
    ``brand`` object [P] (None = no brand), ``user_graph`` float32 [U, D];
    ``ranking``: the learned staged ranking the version holds (None: fused weights).

    Args:
        artifacts: a validated artifact set.
        device: torch device name for the scoring tensors.
        index: the faiss indexes' kind and parameters.
        pop_candidates: the most popular products kept as candidates (``pop_top``).
        ranker: load the learned ranking the version holds (False: fused weights only).
        fresh_share: the learned ranking's share of positions for fresh products.
        fresh_temperature: temperature of each shopper's draw of the fresh order.
    """

    def __init__(
        self,
        artifacts: ArtifactSet,
        device: str,
        *,
        index: IndexOptions,
        pop_candidates: int,
        ranker: bool,
        fresh_share: float,
        fresh_temperature: float,
    ) -> None:
        artifacts.validate()
        m = artifacts.manifest
        products = artifacts.products
        self.version = m.version
        self.snapshot_exported_at = m.snapshot_exported_at
        self.encoder_id = m.encoder_id
        self.graph_dim = m.graph_dim
        self.text_dim = m.text_dim
        self.device = device
        self.ids: np.ndarray = products["id"].astype(str).to_numpy(dtype=object)
        self.row_of: dict[str, int] = {str(i): r for r, i in enumerate(self.ids.tolist())}
        self.titles: np.ndarray = products["title"].astype(str).to_numpy(dtype=object)
        self.price: np.ndarray = pd.to_numeric(products["price"], errors="coerce").to_numpy(
            dtype=np.float32, na_value=np.nan
        )
        self.in_stock: np.ndarray = (
            products["in_stock"].astype("boolean").fillna(True).to_numpy(dtype=bool)
        )
        self.brand: np.ndarray = (
            products["brand_id"].astype(object).where(products["brand_id"].notna(), None)
        ).to_numpy(dtype=object)
        self.categories: list[list[str]] = [_as_list(v) for v in products["category_ids"]]
        self.category_rows = _inverted(self.categories)
        self.brand_rows = _inverted([[b] if b is not None else [] for b in self.brand.tolist()])
        self.tree = CategoryTree.from_frame(artifacts.categories)

        graph_np = np.ascontiguousarray(artifacts.product_graph, dtype=np.float32)
        text_np = np.ascontiguousarray(artifacts.product_text, dtype=np.float32)
        pop_np = np.ascontiguousarray(artifacts.popularity, dtype=np.float32)
        if artifacts.path is not None:
            self.graph_index = VectorIndex.open(artifacts.path / GRAPH_INDEX, graph_np, index)
            self.text_index = VectorIndex.open(artifacts.path / TEXT_INDEX, text_np, index)
        else:
            self.graph_index = index.build(graph_np)
            self.text_index = index.build(text_np)
        self.graph = _tensor(graph_np, device)
        self.text = _tensor(text_np, device)
        self.pop = _tensor(pop_np, device)
        self.pop_np = pop_np
        top = max(pop_candidates, 1)
        order = np.argsort(-pop_np, kind="stable")
        self.pop_top: np.ndarray = order[:top].astype(np.int64)

        self.user_row: dict[str, int] = {
            str(u): r for r, u in enumerate(artifacts.users["id"].astype(str).tolist())
        }
        self.user_graph = np.ascontiguousarray(artifacts.user_graph, dtype=np.float32)
        self.ranking: PersonalRanking | None = None
        if ranker and artifacts.path is not None:
            self.ranking = PersonalRanking.load(
                artifacts.path, fresh_share, fresh_temperature=fresh_temperature, index=index
            )
        if self.ranking is not None:
            self.ranking.open_indexes(
                torch.from_numpy(self.user_graph), self.graph.cpu(), self.text.cpu()
            )

    @property
    def size(self) -> int:
        """Number of products P."""
        return len(self.ids)

    def rows_in(self, categories: Iterable[str], brands: Iterable[str]) -> np.ndarray | None:
        """Rows in any of ``categories`` (with descendants) and any of ``brands``.

        Returns None when neither is given (no constraint), else sorted int64 rows.
        """
        cats, brs = list(categories), list(brands)
        result: np.ndarray | None = None
        if cats:
            wanted: set[str] = set()
            for c in cats:
                wanted |= self.tree.descendants(c)
            parts = [self.category_rows[c] for c in wanted if c in self.category_rows]
            result = np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)
        if brs:
            parts = [self.brand_rows[b] for b in brs if b in self.brand_rows]
            by_brand = np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)
            result = by_brand if result is None else np.intersect1d(result, by_brand)
        return result

    def without_user(self, user_id: str) -> Catalogue:
        """Return a catalogue that does not know ``user_id`` (this one when it does not).

        The shopper's vector row and learned-ranking row are zeros, held by no id,
        and the other users keep their rows: what the version's files hold once the
        shopper is forgotten, but for the row numbers.
        """
        row = self.user_row.get(user_id)
        if row is None:
            return self
        other = copy.copy(self)
        other.user_row = {u: r for u, r in self.user_row.items() if u != user_id}
        other.user_graph = self.user_graph.copy()
        other.user_graph[row] = 0.0
        if self.ranking is not None:
            other.ranking = self.ranking.without_user(row)
        return other

    def user_vector(self, user_id: str) -> np.ndarray | None:
        """The trained graph embedding [D] of a user, or None for a user not in the artifacts."""
        row = self.user_row.get(user_id)
        return None if row is None else self.user_graph[row]


def _tensor(array: np.ndarray, device: str) -> torch.Tensor:
    """A float32 tensor on ``device``; on cpu it shares memory with ``array``."""
    if not array.flags.writeable:
        array = array.copy()
    return torch.from_numpy(array).to(device)
