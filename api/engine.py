"""Engine: retrieval, fusion, filters and online updates, without HTTP.

A request reads ``self._state`` once and works on that immutable
:class:`~kgrec.api.state.ServedState` (:class:`~kgrec.api.catalogue.Catalogue`,
:class:`~kgrec.api.overlay.Overlay`) to the end, so :meth:`Engine.swap` (new artifact
version) and the online writes (:meth:`Engine.add_items`,
:meth:`Engine.record_events`) only replace one reference: in-flight requests
finish on the state they started with.

The engine is the facade over the stages: the row view (:mod:`kgrec.api.state`), the
fused ranking (:mod:`kgrec.api.fused`), the learned ranking (:mod:`kgrec.api.learned`),
reasons (:mod:`kgrec.api.reasons`) and the online writes (:mod:`kgrec.api.writes`); it owns
the shopper history caches and the graph's health.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from kgrec.api.experiments.arms import RankingOverrides
from kgrec.api.fused import FusedRanking
from kgrec.api.health import GraphHealth
from kgrec.api.history import ShopperHistory
from kgrec.api.options import EngineOptions
from kgrec.api.query_vectors import QueryVectors
from kgrec.api.ranker import Ranker
from kgrec.api.ranking import Filters, RankedList, Strategy
from kgrec.api.served_again import ServedAgain
from kgrec.api.state import EmbedderFactory, ServedState, build_state
from kgrec.api.writes import OnlineWrites, RecordedEvents
from kgrec.api.written_online import WrittenOnline
from kgrec.errors import (
    ConfigError,
    GraphConnectionError,
    ServiceUnavailableError,
)
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.graph import GraphStore, UpsertCounts
from kgrec.graph.records import InteractionRow, ProductRow, UserRow
from kgrec.text_encoders import EmbeddingCache, TextEncoder

log = logging.getLogger(__name__)


class Engine:
    """The serving engine over one artifact version plus online additions.

    Args:
        options: device, weights, candidate counts, indexes, caches, ``max_k``
            (:func:`kgrec.api.wiring.engine_options` builds them from the settings).
        artifacts: the artifact version to serve.
        encoder: text encoder of the artifacts' text space.
        store: the graph (None = artifacts only: no writes, no explanations).
        embedder_factory: builds the GNN's inductive embedder for an artifact version
            (its checkpoint); None or a None result = the neighbour-mean fallback
            (mean graph vector of the products sharing brand/categories, and of a
            user's interacted products weighted by kind).
        written_online: the data directory's ledger of online writes: this engine's
            writes are recorded there, and a restart's restore reads it (None:
            neither; the restore then covers what the version lacks).
    """

    def __init__(
        self,
        options: EngineOptions,
        artifacts: ArtifactSet,
        encoder: TextEncoder,
        store: GraphStore | None = None,
        embedder_factory: EmbedderFactory | None = None,
        written_online: WrittenOnline | None = None,
    ) -> None:
        self.options = options
        self.written_online = written_online
        self.device = options.device
        self.encoder = encoder
        self.store = store
        self.weights = options.weights
        self._factory = embedder_factory
        self._write_lock = threading.Lock()
        self._health = GraphHealth(store, check_interval_s=options.graph_check_interval_s)
        self._history = ShopperHistory(self._health, cache_size=options.user_cache_size)
        self._queries = QueryVectors(encoder, options.query_cache_size)
        self._state: ServedState = self._build(artifacts)
        fused = FusedRanking(options.candidates, self.weights, self.device)
        self._ranker = Ranker(
            self.device,
            fused,
            self._history,
            self._health,
            text_candidates=options.candidates.text,
            served_limit=options.candidates.served,
            w_query=options.w_query,
            w_link=options.w_link,
            link_threshold=options.link_threshold,
        )
        # products added online are encoded through the data directory's cache: the
        # GNN embedder reads the same text vector from it, and so does the next export
        self._writes = OnlineWrites(self, EmbeddingCache.in_data_dir(options.data_dir))
        self._again = ServedAgain(self, self._writes)

    # State ----------------------------------------------------------------------
    def _build(self, artifacts: ArtifactSet) -> ServedState:
        return build_state(artifacts, self.options, self.encoder, self._factory)

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
        """Index kinds and sizes for /health and /metrics (:meth:`ServedState.index_info`)."""
        return self._state.index_info()

    def swap(self, artifacts: ArtifactSet) -> str:
        """Serve a new artifact version; requests in flight finish on the old one.

        Then every product and shopper the old version served from online writes is
        served again, as the graph holds it now
        (:meth:`kgrec.api.served_again.ServedAgain.carry_over`).

        Returns:
            The version now served.
        """
        old = self.install(artifacts)
        self.carry_over(old)
        return artifacts.manifest.version

    def install(self, artifacts: ArtifactSet) -> ServedState:
        """Serve a new artifact version now (the first half of :meth:`swap`).

        Returns:
            The state served before, for :meth:`carry_over`.
        """
        new = self._build(artifacts)
        with self._write_lock:
            old = self._state
            self._state = new
        return old

    def carry_over(self, old: ServedState) -> None:
        """Serve again what ``old`` served from online writes (the second half of :meth:`swap`)."""
        self._again.carry_over(old)

    # Lookups --------------------------------------------------------------------
    def runs_inline(self, user_id: str | None, query: str | None, explain: bool) -> bool:
        """True when a ranking call needs no encoder pass and no graph read.

        Such a call is CPU work of a few ms that the HTTP layer runs on the event
        loop; the others go to the thread pool.
        """
        if explain or (query and query not in self._queries):
            return False
        if user_id is None or self.store is None or not self._health.last_up:
            return True
        # the learned ranking reads the history from memory; the fused one, purchases
        return self._state.staged is not None or self._history.cached(user_id)

    def category_ids(self) -> list[str]:
        """Every category id served now (:meth:`ServedState.category_ids`)."""
        return self._state.category_ids()

    def require_item(self, product_id: str, field: str) -> None:
        """Raise NotFoundError naming ``field`` and the id when the product is not served."""
        self._state.require_item(product_id, field)

    def _check_k(self, k: int) -> None:
        if not 1 <= k <= self.options.max_k:
            raise ConfigError(
                f"k={k} is out of range; it must be between 1 and {self.options.max_k}"
            )

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
        overrides: RankingOverrides | None = None,
        session_id: str | None = None,
    ) -> RankedList:
        """Top-``k`` products for a user (known, online or unknown), query and context.

        An unknown user is served from context: the context item's graph and text
        vectors, the query, the filters and the popularity prior; never an error.
        ``overrides`` are an experiment arm's (:mod:`kgrec.api.experiments`). An
        anonymous request's ``session_id`` draws its fresh products' order (a
        shopper's own id or row does otherwise: docs/ranking.md).

        Raises:
            NotFoundError: ``context_item`` or a filter's category/brand is unknown.
            ConfigError: ``k`` is outside 1..max_k.
        """
        state = self._state
        filters = filters or Filters()
        self._check_k(k)
        state.check_filters(filters)
        user_vec = state.user_vector(user_id)
        query_vec = self._queries(query) if query else None
        context_rows: list[int] = []
        strategy: Strategy = "user" if user_vec is not None else "popularity"
        if context_item is not None:
            row = state.require_item(context_item, "context_item")
            context_rows.append(row)
            if user_vec is None:
                user_vec = state.graph_rows(np.array([row]))[0]
                strategy = "context"
            if query_vec is None:
                query_vec = state.text_row(row)
        if strategy == "popularity" and query_vec is not None:
            strategy = "query"
        exclude = set(filters.exclude_ids) | set(state.ids_of(context_rows))
        return self._ranker.rank(
            state,
            user_id=user_id,
            user_vec=user_vec,
            query_vec=query_vec,
            k=k,
            filters=filters,
            exclude=exclude,
            context_rows=context_rows,
            strategy=strategy,
            user_known=state.user_vector(user_id) is not None,
            explain=explain,
            query=query,
            overrides=overrides,
            session_id=session_id,
        )

    def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        k: int = 10,
        filters: Filters | None = None,
        explain: bool = False,
        overrides: RankingOverrides | None = None,
        session_id: str | None = None,
    ) -> RankedList:
        """Query search personalised by the user's graph vector when the user is known."""
        return self.recommend(
            user_id,
            k=k,
            query=query,
            filters=filters,
            explain=explain,
            overrides=overrides,
            session_id=session_id,
        )

    def similar(self, item_id: str, *, k: int = 10, filters: Filters | None = None) -> RankedList:
        """Products close to ``item_id`` in graph and text space (the item itself excluded)."""
        state = self._state
        filters = filters or Filters(exclude_purchased=False)
        self._check_k(k)
        state.check_filters(filters)
        row = state.require_item(item_id, "item_id")
        return self._ranker.rank(
            state,
            user_id=None,
            user_vec=state.graph_rows(np.array([row]))[0],
            query_vec=state.text_row(row),
            k=k,
            filters=filters,
            exclude={item_id} | set(filters.exclude_ids),
            context_rows=[row],
            strategy="context",
            user_known=False,
            explain=False,
        )

    def explain(self, user_id: str, item_id: str) -> list[dict[str, Any]] | None:
        """The graph path from the user to the product (None when there is none).

        Raises:
            ServiceUnavailableError: no graph configured or the server does not answer.
        """
        store = self._health.require_store("explanations")
        try:
            return store.explain_path(user_id, item_id)
        except GraphConnectionError as e:
            self._health.mark_down()
            raise ServiceUnavailableError(f"the graph server does not answer: {e}") from e

    # Online writes (api.writes) ------------------------------------------------------
    # The writes replace ``_state`` under ``_write_lock`` (:class:`kgrec.api.writes.OnlineWrites`).
    def add_items(
        self,
        rows: Sequence[ProductRow],
        *,
        write_graph: bool = True,
        replace: bool = False,
        mirror: bool = False,
    ) -> list[str]:
        """Upsert products: graph write, text encoding, inductive graph vector, index.

        The products are in every request that starts after this returns. A product
        that exists is merged in the graph (the fields a row lacks are kept), or with
        ``replace`` keeps exactly the row's properties, and it is served as the graph
        now holds it (:meth:`kgrec.api.writes.OnlineWrites._served_rows`). With
        ``write_graph=False`` the rows are served as given, nothing written. With
        ``mirror`` the graph holds ``rows`` already (another engine of the service
        wrote them just now, as an experiment arm's pinned engine follows the main
        one's writes; a restart's restore; a swap): nothing is written, and the rows
        are read back from the graph after this write's stamp, so an update that
        lands meanwhile is not overwritten by an older read.

        Returns:
            The product ids added or replaced.

        Raises:
            ServiceUnavailableError: the graph server does not answer (nothing was added).
        """
        return self._writes.add_items(rows, write_graph=write_graph, replace=replace, mirror=mirror)

    def record_events(
        self, rows: Sequence[InteractionRow], *, write_graph: bool = True
    ) -> RecordedEvents:
        """Write interactions to the graph and recompute each user's graph vector.

        The next request of those users uses the new vector and purchase list. With
        ``write_graph=False`` the graph holds the interactions already (another engine
        of the service wrote them): only the served vectors and history change, and a
        product this engine does not serve is no error.

        Returns:
            The user ids whose vectors were recomputed, and how many events the graph
            held already.

        Raises:
            ServiceUnavailableError: the graph server does not answer (nothing was written).
            NotFoundError: an event names a product that does not exist.
        """
        return self._writes.record_events(rows, write_graph=write_graph)

    def declare_users(self, rows: Sequence[UserRow], *, write_graph: bool = True) -> UpsertCounts:
        """Write what shoppers declared about themselves and serve them by it.

        Each shopper keeps exactly the row's attributes (the graph write replaces
        its properties; its interactions stay). Its vector is recomputed, and a
        shopper the artifact version lacks is weighed against the version's
        shoppers by what it declared: while it has no history, its list is
        what the most alike of them chose (peer popularity), as ``kgrec evaluate``
        measures for cold shoppers. A shopper the version holds is weighed again
        the same way when what it declares is no longer what the version holds
        (never its own voter); as a voter it counts for others by its former
        declaration until the next ``kgrec train``. With ``write_graph=False`` the
        graph holds the rows already (another engine of the service wrote them):
        only the served vectors and peers change, and the counts are zero.

        Raises:
            ServiceUnavailableError: the graph server does not answer (nothing was written).
        """
        return self._writes.declare_users(rows, write_graph=write_graph)

    def peer_count(self, user_id: str) -> int:
        """The shoppers whose choices order ``user_id``'s list while it has no history.

        :meth:`kgrec.api.state.ServedState.peer_count`.
        """
        return self._state.peer_count(user_id)

    def refresh_users(self, user_ids: Sequence[str]) -> list[str]:
        """Recompute these users' graph vectors from the graph as it is, and serve them.

        Writes nothing: for users whose interactions are in the graph already (a
        restart's restore of the users the artifact version lacks).

        Returns:
            The user ids served.

        Raises:
            ServiceUnavailableError: the graph server does not answer.
        """
        return self._writes.refresh_users(user_ids)

    def forget_user(self, user_id: str) -> bool:
        """Serve ``user_id`` from the next request on as a never-seen shopper.

        Its vector leaves the serving state (the version's row and learned-ranking
        row become zeros held by no id: :meth:`Catalogue.without_user`; an online
        vector is dropped) and the caches (purchases, online history). Writes
        nothing: the graph and the files are :mod:`kgrec.api.forget`'s part.

        Returns:
            True when the state or a cache held something of the shopper's (an empty
            purchase list, cached for any id asked about, does not count).
        """
        return self._writes.forget_user(user_id)

    def unserved(self, label: str, ids: Sequence[str]) -> list[str]:
        """Those of ``ids`` (products or users, by graph label) the engine does not serve.

        They are neither in the artifact version nor added online
        (:meth:`kgrec.api.state.ServedState.unserved`).
        """
        return self._state.unserved(label, ids)

    def stale_in_version(self, label: str) -> list[str] | None:
        """:meth:`~kgrec.api.served_again.ServedAgain.stale_in_version` (None: no ledger)."""
        return self._again.stale_in_version(label)

    def serve_again(self, label: str, ids: Sequence[str]) -> list[str]:
        """Serve ``ids`` of ``label`` as the graph holds them now; the ids served."""
        return self._again.serve_again(label, ids)

    # Health ---------------------------------------------------------------------
    def graph_up(self, *, fresh: bool = False) -> bool:
        """True when a graph is configured and reachable (checked at most every interval)."""
        return self._health.up(fresh=fresh)
