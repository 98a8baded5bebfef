"""Engine: retrieval, fusion, filters and online updates, without HTTP.

A request reads ``self._state`` once and works on that immutable
(:class:`~api.catalogue.Catalogue`, :class:`~api.overlay.Overlay`) pair to the
end, so :meth:`Engine.swap` (new artifact version) and the online writes
(:meth:`Engine.add_items`, :meth:`Engine.record_events`) only replace one
reference: in-flight requests finish on the state they started with.

Candidates are the union of ANN hits in graph space (user vector), text space
(query vector), the popularity top list, neighbours of the context item and
the online products; they are scored as one matmul by :func:`api.ranking.fuse`.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Final, cast

import faiss
import numpy as np
import torch

from api import reasons
from api.catalogue import Catalogue
from api.overlay import OnlineItem, Overlay, write_stamp
from api.ranking import (
    Filters,
    RankedItem,
    RankedList,
    ReasonProduct,
    ScoreBreakdown,
    Strategy,
    Weights,
    fuse,
    reciprocal_rank_fusion,
    top_k,
    weight_matrix,
)
from gnn.artifacts import ArtifactSet
from gnn.inductive import InductiveEmbedder
from gnn.ranking.staged import StagedRanking
from gnn.snapshot import product_text
from graph import GraphStore
from graph.records import InteractionRow, PairLinks, ProductRow
from kgrec.errors import (
    ArtifactError,
    ConfigError,
    GraphConnectionError,
    NotFoundError,
    QueryError,
    ServiceUnavailableError,
)
from kgrec.settings import Settings
from kgrec.typing import (
    CONTENT_HASH,
    DEFAULT_KIND_WEIGHTS,
    ID,
    PRODUCT,
    PRODUCT_PROPERTIES,
    USER,
)
from text_encoders import EmbeddingCache, TextEncoder

log = logging.getLogger(__name__)
_NEIGHBOUR_SAMPLE: Final = 256
# Node properties that are not a product's attrs when served.
_NOT_ATTRS: Final = frozenset({ID, CONTENT_HASH, *PRODUCT_PROPERTIES})
EmbedderFactory = Callable[[ArtifactSet], InductiveEmbedder | None]


@dataclass(frozen=True)
class _State:
    catalogue: Catalogue
    overlay: Overlay
    embedder: InductiveEmbedder | None

    @property
    def size(self) -> int:
        return self.catalogue.size + self.overlay.size

    @cached_property
    def texts(self) -> torch.Tensor:
        """[P', T] text vectors of every served row (catalogue, then online)."""
        return torch.cat([self.catalogue.text, self.overlay.text_tensor()])

    @cached_property
    def staged(self) -> StagedRanking | None:
        """The learned ranking bound to the rows served now (None: fused weights)."""
        cat, ov = self.catalogue, self.overlay
        if cat.ranking is None:
            return None
        return cat.ranking.bind(
            torch.from_numpy(cat.user_graph),
            torch.cat([cat.graph, ov.graph_tensor()]),
            self.texts,
        )


class Engine:
    """The serving engine over one artifact version plus online additions.

    Args:
        settings: weights, candidate counts, index settings, ``max_k``.
        artifacts: the artifact version to serve.
        encoder: text encoder of the artifacts' text space.
        store: the graph (None = artifacts only: no writes, no explanations).
        embedder_factory: builds the GNN's inductive embedder for an artifact version
            (its checkpoint); None or a None result = the neighbour-mean fallback
            (mean graph vector of the products sharing brand/categories, and of a
            user's interacted products weighted by kind).
    """

    def __init__(
        self,
        settings: Settings,
        artifacts: ArtifactSet,
        encoder: TextEncoder,
        store: GraphStore | None = None,
        embedder_factory: EmbedderFactory | None = None,
    ) -> None:
        self.settings = settings
        self.device = settings.resolve_device()
        self.encoder = encoder
        # products added online are encoded through the data directory's cache: the
        # GNN embedder reads the same text vector from it, and so does the next export
        self._text_cache = EmbeddingCache.in_data_dir(settings.data_dir)
        self.store = store
        self.weights = Weights(settings.w_graph, settings.w_text, settings.w_pop)
        self._factory = embedder_factory
        self._write_lock = threading.Lock()
        self._purchases: OrderedDict[str, frozenset[str]] = OrderedDict()
        self._purchases_lock = threading.Lock()
        # products each user interacted with through POST /events (history exclusion)
        self._online_history: dict[str, frozenset[str]] = {}
        self._graph_up = store is not None
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._queries_lock = threading.Lock()
        self._graph_checked_at = 0.0
        self._state = self._build(artifacts)
        # one request is small work: a single thread avoids OpenMP spin contention
        faiss.omp_set_num_threads(settings.search_threads)
        if self.device == "cpu":
            torch.set_num_threads(settings.search_threads)

    # State ----------------------------------------------------------------------
    def _build(self, artifacts: ArtifactSet) -> _State:
        if artifacts.manifest.text_dim != self.encoder.dim:
            raise ArtifactError(
                f"artifact version {artifacts.manifest.version} has text_dim "
                f"{artifacts.manifest.text_dim} but encoder {self.encoder.model_id} gives "
                f"{self.encoder.dim}; re-run `kgrec embed` with this encoder"
            )
        catalogue = Catalogue(artifacts, self.settings, self.device)
        embedder = self._factory(artifacts) if self._factory is not None else None
        if embedder is not None and embedder.dim != catalogue.graph_dim:
            raise ArtifactError(
                f"artifact version {artifacts.manifest.version} has graph_dim "
                f"{catalogue.graph_dim} but its checkpoint embeds in {embedder.dim} "
                "dimensions; re-run `kgrec embed`"
            )
        overlay = Overlay(catalogue.graph_dim, catalogue.text_dim, self.device)
        return _State(catalogue, overlay, embedder)

    @property
    def version(self) -> str:
        """The artifact version served now."""
        return self._state.catalogue.version

    @property
    def size(self) -> int:
        """Products served now (artifacts + online; a re-sent catalogue id counts once)."""
        state = self._state
        return state.catalogue.size + state.overlay.added

    def index_info(self) -> dict[str, Any]:
        """Index kinds and sizes, for /health and /metrics."""
        s = self._state
        return {
            "graph_index": s.catalogue.graph_index.kind,
            "text_index": s.catalogue.text_index.kind,
            "catalogue_items": s.catalogue.size,
            "online_items": s.overlay.added,
            "users": len(s.catalogue.user_row),
            "online_users": len(s.overlay.users),
        }

    def swap(self, artifacts: ArtifactSet) -> str:
        """Serve a new artifact version; requests in flight finish on the old one.

        Online products the new version lacks are re-added (text re-encoded, graph
        vector from the new version's embedder) when the graph answers.

        Returns:
            The version now served.
        """
        new = self._build(artifacts)
        with self._write_lock:
            old = self._state
            self._state = new
            carried = [i.row for i in old.overlay.items if i.row["id"] not in new.catalogue.row_of]
        if carried:
            try:
                self.add_items(carried, write_graph=False)
            except GraphConnectionError as e:
                log.warning("could not carry %d online products over the swap: %s", len(carried), e)
        return new.catalogue.version

    # Lookups --------------------------------------------------------------------
    def _graph_row_vectors(self, state: _State, rows: np.ndarray) -> np.ndarray:
        """Graph vectors [n, D] of global rows (catalogue then overlay)."""
        p = state.catalogue.size
        base = rows[rows < p]
        online = rows[rows >= p] - p
        parts = [state.catalogue.graph[torch.from_numpy(base)].cpu().numpy()]
        if len(online):
            parts.append(state.overlay.graph_tensor()[torch.from_numpy(online)].cpu().numpy())
        return np.concatenate(parts) if parts else np.zeros((0, state.catalogue.graph_dim))

    def _row(self, state: _State, product_id: str) -> int | None:
        j = state.overlay.row_of.get(product_id)
        if j is not None:
            return state.catalogue.size + j
        return state.catalogue.row_of.get(product_id)

    def _require_item(self, state: _State, product_id: str, field: str) -> int:
        row = self._row(state, product_id)
        if row is None:
            raise NotFoundError(f"{field}: product {product_id!r} not found")
        return row

    def _encode_query(self, query: str) -> np.ndarray:
        """[T] query vector, from an LRU cache of ``query_cache_size`` entries."""
        with self._queries_lock:
            cached = self._queries.get(query)
            if cached is not None:
                self._queries.move_to_end(query)
                return cached
        vec = np.asarray(self.encoder.encode([query])[0], np.float32)
        with self._queries_lock:
            self._queries[query] = vec
            while len(self._queries) > self.settings.query_cache_size:
                self._queries.popitem(last=False)
        return vec

    def runs_inline(self, user_id: str | None, query: str | None, explain: bool) -> bool:
        """True when a ranking call needs no encoder pass and no graph read.

        Such a call is CPU work of a few ms that the HTTP layer runs on the event
        loop; the others go to the thread pool.
        """
        if explain or (query and query not in self._queries):
            return False
        if user_id is None or self.store is None or not self._graph_up:
            return True
        # the learned ranking reads the history from memory; the fused one, purchases
        return self._state.staged is not None or user_id in self._purchases

    def require_item(self, product_id: str, field: str) -> None:
        """Raise NotFoundError naming ``field`` and the id when the product is not served."""
        self._require_item(self._state, product_id, field)

    def _user_vector(self, state: _State, user_id: str | None) -> np.ndarray | None:
        if user_id is None:
            return None
        online = state.overlay.users.get(user_id)
        return online if online is not None else state.catalogue.user_vector(user_id)

    def _purchased(self, user_id: str | None) -> frozenset[str]:
        """Products the user purchased (graph read, LRU-cached; empty when the graph is down)."""
        if user_id is None or self.store is None:
            return frozenset()
        with self._purchases_lock:
            if user_id in self._purchases:
                self._purchases.move_to_end(user_id)
                return self._purchases[user_id]
        if not self.graph_up():
            return frozenset()
        try:
            edges = self.store.neighbourhood(USER, [user_id], hops=1)
        except GraphConnectionError:
            self._mark_down()
            return frozenset()
        bought = frozenset(
            str(e["dst"])
            for e in edges.to_dict("records")
            if e["dst_label"] == PRODUCT and (e["props"] or {}).get("kind") == "purchase"
        )
        self._remember_purchases(user_id, bought)
        return bought

    def _remember_purchases(self, user_id: str, bought: frozenset[str]) -> None:
        with self._purchases_lock:
            self._purchases[user_id] = bought
            self._purchases.move_to_end(user_id)
            while len(self._purchases) > self.settings.user_cache_size:
                self._purchases.popitem(last=False)

    def _check_k(self, k: int) -> None:
        if not 1 <= k <= self.settings.max_k:
            raise ConfigError(
                f"k={k} is out of range; it must be between 1 and {self.settings.max_k}"
            )

    def _check_filters(self, state: _State, filters: Filters) -> None:
        online_cats = {c for i in state.overlay.items for c in i.row.get("category_ids") or []}
        online_brands = {i.row.get("brand_id") for i in state.overlay.items}
        for c in filters.categories:
            if not state.catalogue.known_category(c) and c not in online_cats:
                raise NotFoundError(f"category: category {c!r} not found")
        for b in filters.brands:
            if b not in state.catalogue.brand_rows and b not in online_brands:
                raise NotFoundError(f"brand: brand {b!r} not found")

    # Ranking --------------------------------------------------------------------
    def recommend(
        self,
        user_id: str | None,
        *,
        k: int = 10,
        query: str | None = None,
        context_item: str | None = None,
        filters: Filters | None = None,
        explain: bool = False,
    ) -> RankedList:
        """Top-``k`` products for a user (known, online or unknown), query and context.

        An unknown user is served from context: the context item's graph and text
        vectors, the query, the filters and the popularity prior; never an error.

        Raises:
            NotFoundError: ``context_item`` or a filter's category/brand is unknown.
            ConfigError: ``k`` is outside 1..max_k.
        """
        state = self._state
        filters = filters or Filters()
        self._check_k(k)
        self._check_filters(state, filters)
        user_vec = self._user_vector(state, user_id)
        query_vec = self._encode_query(query) if query else None
        context_rows: list[int] = []
        strategy: Strategy = "user" if user_vec is not None else "popularity"
        if context_item is not None:
            row = self._require_item(state, context_item, "context_item")
            context_rows.append(row)
            if user_vec is None:
                user_vec = self._graph_row_vectors(state, np.array([row]))[0]
                strategy = "context"
            if query_vec is None:
                query_vec = self._text_row_vector(state, row)
        if strategy == "popularity" and query_vec is not None:
            strategy = "query"
        exclude = set(filters.exclude_ids) | set(context_rows_ids(state, context_rows))
        return self._rank(
            state,
            user_id=user_id,
            user_vec=user_vec,
            query_vec=query_vec,
            k=k,
            filters=filters,
            exclude=exclude,
            context_rows=context_rows,
            strategy=strategy,
            user_known=self._user_vector(state, user_id) is not None,
            explain=explain,
            query=query,
        )

    def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        k: int = 10,
        filters: Filters | None = None,
        explain: bool = False,
    ) -> RankedList:
        """Query search personalised by the user's graph vector when the user is known."""
        return self.recommend(user_id, k=k, query=query, filters=filters, explain=explain)

    def similar(self, item_id: str, *, k: int = 10, filters: Filters | None = None) -> RankedList:
        """Products close to ``item_id`` in graph and text space (the item itself excluded)."""
        state = self._state
        filters = filters or Filters(exclude_purchased=False)
        self._check_k(k)
        self._check_filters(state, filters)
        row = self._require_item(state, item_id, "item_id")
        return self._rank(
            state,
            user_id=None,
            user_vec=self._graph_row_vectors(state, np.array([row]))[0],
            query_vec=self._text_row_vector(state, row),
            k=k,
            filters=filters,
            exclude={item_id} | set(filters.exclude_ids),
            context_rows=[row],
            strategy="context",
            user_known=False,
            explain=False,
        )

    def _text_row_vector(self, state: _State, row: int) -> np.ndarray:
        p = state.catalogue.size
        if row < p:
            return state.catalogue.text[row].cpu().numpy()
        return state.overlay.text_tensor()[row - p].cpu().numpy()

    def _candidates(
        self,
        state: _State,
        user_vec: np.ndarray | None,
        query_vec: np.ndarray | None,
        context_rows: list[int],
    ) -> np.ndarray:
        """Union of ANN hits per space, the popularity list, context neighbours, online items."""
        s = self.settings
        cat, ov = state.catalogue, state.overlay
        parts: list[np.ndarray] = [cat.pop_top]
        if user_vec is not None and s.candidates_graph:
            parts.append(cat.graph_index.search(user_vec, s.candidates_graph)[1][0])
        if query_vec is not None and s.candidates_text:
            parts.append(cat.text_index.search(query_vec, s.candidates_text)[1][0])
        if context_rows and s.candidates_context:
            ctx = self._graph_row_vectors(state, np.asarray(context_rows, np.int64))
            parts.append(cat.graph_index.search(ctx, s.candidates_context)[1].ravel())
        if ov.size:
            parts.append(cat.size + self._online_candidates(state, user_vec, query_vec))
        rows = np.unique(np.concatenate(parts))
        return rows[rows >= 0]

    def _online_candidates(
        self, state: _State, user_vec: np.ndarray | None, query_vec: np.ndarray | None
    ) -> np.ndarray:
        """Local rows of online products: all of them, or the exact top per space when many."""
        ov, s = state.overlay, self.settings
        limit = max(s.candidates_graph, s.candidates_text)
        if ov.size <= limit:
            return np.arange(ov.size, dtype=np.int64)
        parts = [np.zeros(0, np.int64)]
        for tensor, vec in ((ov.graph_tensor(), user_vec), (ov.text_tensor(), query_vec)):
            if vec is not None:
                scores = tensor @ torch.from_numpy(np.asarray(vec, np.float32)).to(self.device)
                parts.append(torch.topk(scores, limit).indices.cpu().numpy())
        return np.unique(np.concatenate(parts))

    def _keep_mask(
        self, state: _State, rows: np.ndarray, filters: Filters, exclude_rows: set[int]
    ) -> np.ndarray:
        """bool [len(rows)]: rows passing every filter."""
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

    def _allowed_rows(self, state: _State, filters: Filters) -> np.ndarray:
        """Every global row passing the category/brand filters (all rows when none)."""
        cat, ov = state.catalogue, state.overlay
        base = cat.rows_in(filters.categories, filters.brands)
        if base is None:
            return np.arange(state.size, dtype=np.int64)
        wanted: set[str] = set()
        for c in filters.categories:
            wanted |= cat.tree.descendants(c)
        return np.concatenate([base, ov.rows_in(wanted, set(filters.brands)) + cat.size])

    def _features(self, state: _State, rows: np.ndarray) -> torch.Tensor:
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

    def _rank(
        self,
        state: _State,
        *,
        user_id: str | None,
        user_vec: np.ndarray | None,
        query_vec: np.ndarray | None,
        k: int,
        filters: Filters,
        exclude: set[str],
        context_rows: list[int],
        strategy: Strategy,
        user_known: bool,
        explain: bool,
        query: str | None = None,
    ) -> RankedList:
        notes: list[str] = []
        if filters.exclude_purchased and user_id is not None:
            # what the shopper did through POST /events (the learned ranking holds the
            # rest of the history in memory; the fused one reads purchases below)
            exclude |= self._online_history.get(user_id, frozenset())
        exclude_rows = {r for r in (self._row(state, i) for i in exclude) if r is not None}
        staged = state.staged
        if staged is not None:
            learned = self._rank_learned(
                state,
                staged,
                user_id=user_id,
                user_vec=user_vec,
                query_vec=query_vec,
                k=k,
                filters=filters,
                exclude_rows=exclude_rows,
                context_rows=context_rows,
                explain=explain,
            )
            if learned is not None:
                items, count, proposers = learned
                if explain:
                    grounds = self._grounds(state, user_id, user_known, query, context_rows)
                    items = self._with_reasons(state, items, replace(grounds, proposers=proposers))
                return RankedList(
                    items=items,
                    artifact_version=state.catalogue.version,
                    strategy=strategy,
                    user_known=user_known,
                    candidates=count,
                    notes=notes,
                    ranking="learned",
                )
            notes.append("few learned-ranking results passed the filters; ranked by weights")
        if filters.exclude_purchased:  # the fused ranking's history: purchases in the graph
            bought = self._purchased(user_id)
            exclude_rows |= {r for r in (self._row(state, i) for i in bought) if r is not None}
        allowed: np.ndarray | None = None
        if filters.categories or filters.brands:
            allowed = self._allowed_rows(state, filters)
        if allowed is not None and len(allowed) <= self.settings.exact_filter_max_items:
            rows = allowed  # selective filter: score every matching product exactly
        else:
            rows = self._candidates(state, user_vec, query_vec, context_rows)
        rows = rows[self._keep_mask(state, rows, filters, exclude_rows)]
        if len(rows) < k and filters.narrowing:
            everything = allowed if allowed is not None else np.arange(state.size, dtype=np.int64)
            if len(everything) > self.settings.exact_filter_max_items:
                notes.append("few candidates passed the filters; widened to a full scan")
            rows = everything[self._keep_mask(state, everything, filters, exclude_rows)]
        w = weight_matrix(
            _tensor(user_vec, self.device),
            _tensor(query_vec, self.device),
            self.weights,
            state.catalogue.graph_dim,
            state.catalogue.text_dim,
            self.device,
        )
        positions, parts = top_k(fuse(self._features(state, rows), w, state.catalogue.graph_dim), k)
        items = [
            self._item(state, int(rows[pos]), part)
            for pos, part in zip(positions, parts, strict=True)
        ]
        if explain:
            grounds = self._grounds(state, user_id, user_known, query, context_rows)
            items = self._with_reasons(state, items, grounds)
        return RankedList(
            items=items,
            artifact_version=state.catalogue.version,
            strategy=strategy,
            user_known=user_known,
            candidates=len(rows),
            notes=notes,
        )

    def _rank_learned(
        self,
        state: _State,
        staged: StagedRanking,
        *,
        user_id: str | None,
        user_vec: np.ndarray | None,
        query_vec: np.ndarray | None,
        k: int,
        filters: Filters,
        exclude_rows: set[int],
        context_rows: list[int],
        explain: bool = False,
    ) -> tuple[list[RankedItem], int, dict[int, tuple[str, ...]] | None] | None:
        """The learned staged ranking's top ``k`` (and its list length) after the filters,
        fused with the query's text order when there is a query or context; None when
        the filters leave fewer than ``k`` of it. With ``explain``, also what proposed
        each row (:func:`api.reasons.learned_proposers`, from the same pass)."""
        cat = state.catalogue
        ranking = cat.ranking
        assert ranking is not None
        user_row = cat.user_row.get(user_id) if user_id is not None else None
        history = np.concatenate([self._history_rows(state, user_id), context_rows]).astype(
            np.int64
        )
        proposed: dict[str, np.ndarray] = {}
        if explain:
            served, ranker_scores, proposed = ranking.served_with_proposers(
                staged, user_row, history
            )
        else:
            served, ranker_scores = ranking.served(staged, user_row, history)
        ranker_of = dict(zip(served.tolist(), ranker_scores.tolist(), strict=True))
        sims: np.ndarray | None = None
        lists, weights = [served], [1.0]
        if query_vec is not None:
            q = torch.from_numpy(np.asarray(query_vec, np.float32)).to(self.device)
            sims = (state.texts @ q).cpu().numpy()
            n = min(len(sims), max(len(served), self.settings.candidates_text))
            top = np.argpartition(-sims, n - 1)[:n] if n < len(sims) else np.arange(len(sims))
            lists.append(top[np.argsort(-sims[top], kind="stable")])
            weights.append(self.settings.w_query)
        rows, total = reciprocal_rank_fusion(lists, weights)
        drop = exclude_rows | (set(history.tolist()) if filters.exclude_purchased else set())
        keep = self._keep_mask(state, rows, filters, drop)
        rows, total = rows[keep], total[keep]
        if len(rows) < k and (filters.narrowing or len(rows) < min(k, state.size)):
            return None
        pop = torch.cat([cat.pop, cat.pop.new_zeros(state.overlay.size)])
        graph = (
            self._graph_row_vectors(state, rows[:k]) @ np.asarray(user_vec, np.float32)
            if user_vec is not None
            else np.zeros(min(k, len(rows)), np.float32)
        )
        items = []
        for i, row in enumerate(rows[:k].tolist()):
            ranker = ranker_of.get(row)
            part = ScoreBreakdown(
                graph=float(graph[i]),
                text=float(sims[row]) if sims is not None else 0.0,
                popularity=float(pop[row]),
                total=float(total[i]),
                ranker=None if ranker is None or np.isnan(ranker) else float(ranker),
            )
            items.append(self._item(state, row, part))
        proposers = None
        if explain:
            proposers = reasons.learned_proposers(
                served,
                proposed,
                ranker_scores,
                lists[1] if len(lists) > 1 else None,
                staged.config.per_generator,
            )
        return items, len(rows), proposers

    def _history_rows(self, state: _State, user_id: str | None) -> np.ndarray:
        """int64 rows of the shopper's history: the version's interactions (when it
        holds a learned ranking) and the events recorded online."""
        ranking = state.catalogue.ranking
        user_row = state.catalogue.user_row.get(user_id) if user_id is not None else None
        version = ranking.history(user_row) if ranking is not None else np.zeros(0, np.int64)
        return np.concatenate([version, self._online_rows(state, user_id)]).astype(np.int64)

    # Reasons (api.reasons) ------------------------------------------------------------
    def _grounds(
        self,
        state: _State,
        user_id: str | None,
        user_known: bool,
        query: str | None,
        context_rows: list[int],
    ) -> reasons.Grounds:
        return reasons.Grounds(
            user_id=user_id,
            user_known=user_known,
            query=query,
            history=self._history_rows(state, user_id),
            context=np.asarray(context_rows, np.int64),
        )

    def _with_reasons(
        self, state: _State, items: list[RankedItem], grounds: reasons.Grounds
    ) -> list[RankedItem]:
        """The items with their reasons: at most one graph read for all of them."""
        ranking = state.catalogue.ranking
        rows = [self._require_item(state, i.id, "item") for i in items]
        return reasons.explain_items(
            items,
            rows,
            grounds,
            product=lambda row: self._product_ref(state, row),
            tables=ranking.stored.neighbours if ranking is not None else {},
            texts=state.texts,
            read_links=self._pair_links if self.store is not None else None,
        )

    def _product_ref(self, state: _State, row: int) -> ReasonProduct:
        p = state.catalogue.size
        if row < p:
            return ReasonProduct(str(state.catalogue.ids[row]), str(state.catalogue.titles[row]))
        r = state.overlay.items[row - p].row
        return ReasonProduct(r["id"], r["title"])

    def _pair_links(
        self, user_id: str | None, pairs: Sequence[tuple[str, str]]
    ) -> list[PairLinks] | None:
        """What the pairs share (:meth:`GraphStore.pair_links`); None when the graph is
        down or refuses the read (a reason then names no shared link)."""
        if self.store is None or not self.graph_up():
            return None
        try:
            return self.store.pair_links(user_id, pairs)
        except GraphConnectionError:
            self._mark_down()
        except QueryError as e:
            log.warning("reasons without graph links: %s", e)
        return None

    def _online_rows(self, state: _State, user_id: str | None) -> np.ndarray:
        """Rows of the products ``user_id`` interacted with online (events since the version)."""
        if user_id is None:
            return np.zeros(0, np.int64)
        ids = self._online_history.get(user_id, ())
        rows = [r for r in (self._row(state, i) for i in ids) if r is not None]
        return np.asarray(rows, np.int64)

    def _item(self, state: _State, row: int, part: np.ndarray | ScoreBreakdown) -> RankedItem:
        cat, p = state.catalogue, state.catalogue.size
        score = (
            part
            if isinstance(part, ScoreBreakdown)
            else ScoreBreakdown(
                graph=float(part[0]),
                text=float(part[1]),
                popularity=float(part[2]),
                total=float(part.sum()),
            )
        )
        if row < p:
            price = float(cat.price[row])
            return RankedItem(
                id=str(cat.ids[row]),
                title=str(cat.titles[row]),
                price=None if np.isnan(price) else price,
                in_stock=bool(cat.in_stock[row]),
                brand_id=cat.brand[row],
                category_ids=tuple(cat.categories[row]),
                score=score,
            )
        r = state.overlay.items[row - p].row
        return RankedItem(
            id=r["id"],
            title=r["title"],
            price=r.get("price"),
            in_stock=r.get("in_stock") is not False,
            brand_id=r.get("brand_id"),
            category_ids=tuple(r.get("category_ids") or ()),
            score=score,
        )

    def explain(self, user_id: str, item_id: str) -> list[dict[str, Any]] | None:
        """The graph path from the user to the product (None when there is none).

        Raises:
            ServiceUnavailableError: no graph configured or the server does not answer.
        """
        store = self._require_store("explanations")
        try:
            return store.explain_path(user_id, item_id)
        except GraphConnectionError as e:
            self._mark_down()
            raise ServiceUnavailableError(f"the graph server does not answer: {e}") from e

    # Online writes ----------------------------------------------------------------
    # A write takes the graph write and the embedding outside ``_write_lock`` and holds
    # the lock only to put its result into the state read again inside it, so
    # concurrent writers keep each other's overlay updates, and a slow write (a heavy
    # shopper, a 1,000-product batch) never holds up another. Stamps
    # (:func:`api.overlay.write_stamp`) keep the newest update of one product or user
    # whatever order the writers finish in; a write that finds another artifact
    # version served when it is done embeds again in that version's space.
    def _require_store(self, what: str) -> GraphStore:
        """The graph store, checked reachable now; else 503 at once (no driver retries)."""
        if self.store is None:
            raise ServiceUnavailableError(
                f"{what} need the graph, and this engine runs without one"
            )
        if not self.graph_up(fresh=True):
            raise ServiceUnavailableError(
                f"{what} need the graph server at {self.store.uri}, which does not answer; "
                "nothing was written, retry when /health reports the graph up"
            )
        return self.store

    def add_items(
        self, rows: Sequence[ProductRow], *, write_graph: bool = True, replace: bool = False
    ) -> list[str]:
        """Upsert products: graph write, text encoding, inductive graph vector, index.

        The products are in every request that starts after this returns. A product
        that exists is merged in the graph (the fields a row lacks are kept), or with
        ``replace`` keeps exactly the row's properties, and it is served as the graph
        now holds it (:meth:`_served_rows`). With ``write_graph=False`` the rows are
        the products as the graph holds them already (a restart's restore, a swap).

        Returns:
            The product ids added or replaced.
        Raises:
            ServiceUnavailableError: the graph server does not answer (nothing was added).
        """
        if not rows:
            return []
        store = self._require_store("product writes")
        try:
            if write_graph:
                store.upsert_products(rows, replace=replace)
            stamp = write_stamp()
            while True:
                state = self._state
                served = self._served_rows(state, store, rows) if write_graph else list(rows)
                texts = [_product_text(r) for r in served]
                text, _ = self._text_cache.encode(self.encoder, texts)
                graph = self._embed_items(state, store, served)
                new = [
                    OnlineItem(row=r, graph=graph[i], text=text[i], stamp=stamp)
                    for i, r in enumerate(served)
                ]
                with self._write_lock:
                    now = self._state
                    if self._same_space(now, state):
                        overlay = now.overlay.with_items(new, now.catalogue.row_of)
                        self._state = dataclasses.replace(now, overlay=overlay)
                        break
        except GraphConnectionError as e:
            self._mark_down()
            raise ServiceUnavailableError(
                f"products not accepted: the graph server does not answer ({e}); retry later"
            ) from e
        return [r["id"] for r in served]

    def _served_rows(
        self, state: _State, store: GraphStore, rows: Sequence[ProductRow]
    ) -> list[ProductRow]:
        """The rows as the graph holds them after their upsert: properties from the node
        (a partial row merged into it), brand and categories from the row when it gives
        them, else the ones served now (the upsert left those links as they were)."""
        nodes = store.nodes_by_id(PRODUCT, [r["id"] for r in rows])
        served: list[ProductRow] = []
        for r in rows:
            props = nodes.get(r["id"])
            if props is None:  # deleted since the write: serve the row as sent
                served.append(r)
                continue
            row = cast(ProductRow, {k: props[k] for k in PRODUCT_PROPERTIES if k in props})
            row["id"] = r["id"]
            row.setdefault("title", r["title"])
            row["attrs"] = {k: v for k, v in props.items() if k not in _NOT_ATTRS}
            brand, categories = r.get("brand_id"), r.get("category_ids")
            at = self._row(state, r["id"])
            if at is not None and at < state.catalogue.size:
                brand = brand or state.catalogue.brand[at]
                if categories is None:
                    categories = list(state.catalogue.categories[at])
            elif at is not None:
                old = state.overlay.items[at - state.catalogue.size].row
                brand = brand or old.get("brand_id")
                if categories is None:
                    categories = old.get("category_ids")
            if brand:
                row["brand_id"] = brand
            if categories is not None:
                row["category_ids"] = list(categories)
            served.append(row)
        return served

    def record_events(self, rows: Sequence[InteractionRow]) -> list[str]:
        """Write interactions to the graph and recompute each user's graph vector.

        The next request of those users uses the new vector and purchase list.

        Returns:
            The user ids whose vectors were recomputed.
        Raises:
            ServiceUnavailableError: the graph server does not answer (nothing was written).
            NotFoundError: an event names a product that does not exist.
        """
        if not rows:
            return []
        store = self._require_store("event writes")
        state = self._state
        unknown = sorted(
            {r["product_id"] for r in rows if self._row(state, r["product_id"]) is None}
        )
        if unknown:
            raise NotFoundError(f"product_id: product(s) {', '.join(map(repr, unknown))} not found")
        users = sorted({r["user_id"] for r in rows})
        try:
            store.upsert_users([{"id": u} for u in users])
            store.upsert_interactions(rows)
            self._serve_users(store, users)
        except GraphConnectionError as e:
            self._mark_down()
            raise ServiceUnavailableError(
                f"events not accepted: the graph server does not answer ({e}); retry later"
            ) from e
        with self._purchases_lock:
            for u in users:
                self._purchases.pop(u, None)
                mine = {r["product_id"] for r in rows if r["user_id"] == u}
                self._online_history[u] = self._online_history.get(u, frozenset()) | mine
        return users

    def refresh_users(self, user_ids: Sequence[str]) -> list[str]:
        """Recompute these users' graph vectors from the graph as it is, and serve them.

        Writes nothing: for users whose interactions are in the graph already (a
        restart's restore of the users the artifact version lacks).

        Returns:
            The user ids served.
        Raises:
            ServiceUnavailableError: the graph server does not answer.
        """
        users = sorted(set(user_ids))
        if not users:
            return []
        store = self._require_store("user restores")
        try:
            self._serve_users(store, users)
            edges = store.neighbourhood(USER, users, hops=1)
        except GraphConnectionError as e:
            self._mark_down()
            raise ServiceUnavailableError(
                f"users not restored: the graph server does not answer ({e}); retry later"
            ) from e
        interacted: dict[str, set[str]] = {u: set() for u in users}
        for edge in edges.to_dict("records"):  # their history, for the exclusion filter
            if edge["dst_label"] == PRODUCT and str(edge["src"]) in interacted:
                interacted[str(edge["src"])].add(str(edge["dst"]))
        with self._purchases_lock:
            for u, products in interacted.items():
                self._online_history[u] = self._online_history.get(u, frozenset()) | products
        return users

    def forget_user(self, user_id: str) -> bool:
        """Serve ``user_id`` from the next request on as a never-seen shopper.

        Its vector leaves the serving state (the version's row and learned-ranking
        row become zeros held by no id: :meth:`Catalogue.without_user`; an online
        vector is dropped) and the caches (purchases, online history). Writes
        nothing: the graph and the files are :mod:`api.forget`'s part.

        Returns:
            True when the state or a cache held something of the shopper's (an empty
            purchase list, cached for any id asked about, does not count).
        """
        with self._write_lock:
            now = self._state
            ov = now.overlay
            held = user_id in ov.users or user_id in now.catalogue.user_row
            overlay = dataclasses.replace(
                ov,
                users={u: v for u, v in ov.users.items() if u != user_id},
                user_stamps={u: s for u, s in ov.user_stamps.items() if u != user_id},
            )
            catalogue = now.catalogue.without_user(user_id)
            self._state = dataclasses.replace(now, catalogue=catalogue, overlay=overlay)
        with self._purchases_lock:
            held = bool(self._purchases.pop(user_id, None)) or held
            held = self._online_history.pop(user_id, None) is not None or held
        return held

    def unserved(self, label: str, ids: Sequence[str]) -> list[str]:
        """Those of ``ids`` (products or users, by graph label) the engine does not serve:
        neither in the artifact version nor added online."""
        state = self._state
        if label == PRODUCT:
            return [i for i in ids if self._row(state, i) is None]
        if label == USER:
            return [
                i for i in ids if i not in state.overlay.users and i not in state.catalogue.user_row
            ]
        raise ConfigError(f"label must be {PRODUCT!r} or {USER!r}, got {label!r}")

    @staticmethod
    def _same_space(now: _State, then: _State) -> bool:
        """True when ``now`` serves the artifact version and embedder ``then`` did."""
        return now.catalogue is then.catalogue and now.embedder is then.embedder

    def _serve_users(self, store: GraphStore, users: Sequence[str]) -> None:
        """Embed ``users`` from the graph (outside the lock) and put them in the overlay."""
        stamp = write_stamp()
        while True:
            state = self._state
            vectors = self._embed_users(state, store, users)
            with self._write_lock:
                now = self._state
                if self._same_space(now, state):
                    overlay = now.overlay.with_users(vectors, stamp)
                    self._state = dataclasses.replace(now, overlay=overlay)
                    return

    def _embed_items(
        self, state: _State, store: GraphStore, rows: Sequence[ProductRow]
    ) -> np.ndarray:
        """[n, D] graph vectors of new products: the GNN embedder, else neighbour means."""
        if state.embedder is not None:
            return np.asarray(
                state.embedder.embed_new_items(store, [r["id"] for r in rows]), np.float32
            )
        cat = state.catalogue
        rng = np.random.default_rng(0)
        out = np.zeros((len(rows), cat.graph_dim), np.float32)
        for i, r in enumerate(rows):
            groups = [cat.brand_rows.get(r.get("brand_id") or "", np.zeros(0, np.int64))]
            groups += [
                cat.category_rows.get(c, np.zeros(0, np.int64)) for c in r.get("category_ids") or []
            ]
            means = []
            for g in groups:
                g = g[g != cat.row_of.get(r["id"], -1)]
                if len(g):
                    pick = (
                        g
                        if len(g) <= _NEIGHBOUR_SAMPLE
                        else rng.choice(g, _NEIGHBOUR_SAMPLE, replace=False)
                    )
                    means.append(cat.graph[torch.from_numpy(pick)].mean(0).cpu().numpy())
            if means:
                out[i] = np.mean(means, axis=0)
        return out

    def _embed_users(
        self, state: _State, store: GraphStore, users: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """[D] graph vector per user: the GNN embedder (one call), else :meth:`_embed_user`."""
        if state.embedder is not None:
            vectors = np.asarray(state.embedder.embed_users(store, users), np.float32)
            return {u: vectors[i] for i, u in enumerate(users)}
        return {u: self._embed_user(state, store, u) for u in users}

    def _embed_user(self, state: _State, store: GraphStore, user_id: str) -> np.ndarray:
        """[D] graph vector of a user: the GNN embedder, else kind-weighted mean of products."""
        if state.embedder is not None:
            return np.asarray(state.embedder.embed_user(store, user_id), np.float32)
        edges = store.neighbourhood(USER, [user_id], hops=1)
        rows, weights = [], []
        for e in edges.to_dict("records"):
            row = self._row(state, str(e["dst"])) if e["dst_label"] == PRODUCT else None
            if row is not None:
                props = e["props"] or {}
                rows.append(row)
                weights.append(
                    float(
                        props.get("weight") or DEFAULT_KIND_WEIGHTS.get(props.get("kind", ""), 1.0)
                    )
                )
        if not rows:
            return np.zeros(state.catalogue.graph_dim, np.float32)
        vecs = self._graph_row_vectors(state, np.asarray(rows, np.int64))
        w = np.asarray(weights, np.float32)
        mean: np.ndarray = (vecs * w[:, None]).sum(0) / w.sum()
        return mean.astype(np.float32)

    # Health ---------------------------------------------------------------------
    def graph_up(self, *, fresh: bool = False) -> bool:
        """True when a graph is configured and reachable (checked at most every interval)."""
        if self.store is None:
            return False
        now = time.monotonic()
        if fresh or now - self._graph_checked_at >= self.settings.graph_check_interval_s:
            self._graph_up = self.store.reachable()
            self._graph_checked_at = now
        return self._graph_up

    def _mark_down(self) -> None:
        self._graph_up = False
        self._graph_checked_at = time.monotonic()


def context_rows_ids(state: _State, rows: list[int]) -> list[str]:
    """Product ids of global rows (the context item is never recommended to itself)."""
    p = state.catalogue.size
    return [
        str(state.catalogue.ids[r]) if r < p else state.overlay.items[r - p].row["id"] for r in rows
    ]


def _tensor(vec: np.ndarray | None, device: str) -> torch.Tensor | None:
    return None if vec is None else torch.from_numpy(np.asarray(vec, np.float32)).to(device)


def _product_text(row: ProductRow) -> str:
    """The text encoded for a product added online, composed as ``kgrec embed`` composes it."""
    return product_text({**(row.get("attrs") or {}), **row})
