"""Online writes: products and events written to the graph and into the served state.

A write takes the graph write and the embedding outside the engine's write lock
and holds the lock only to put its result into the state read again inside it, so
concurrent writers keep each other's overlay updates, and a slow write (a heavy
shopper, a 1,000-product batch) never holds up another. Stamps
(:func:`kgrec.api.overlay.write_stamp`) keep the newest update of one product or user
whatever order the writers finish in; a write that finds another artifact
version served when it is done embeds again in that version's space.

An engine pinned to an experiment arm's artifact version follows the main
engine's writes without writing the graph again (``mirror`` / ``write_graph=False``,
called by :class:`kgrec.api.wiring.Services`): it takes its own stamp and reads the graph
back, so the same ordering holds in every engine.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from kgrec.api.history import online_history
from kgrec.api.online_vectors import (
    item_vectors,
    newcomer_peers,
    online_product_text,
    user_vectors,
)
from kgrec.api.overlay import OnlineItem, write_stamp
from kgrec.errors import (
    GraphConnectionError,
    NotFoundError,
    ServiceUnavailableError,
)
from kgrec.gnn.snapshot import USER as USER_NODE
from kgrec.gnn.snapshot import node_text
from kgrec.graph import GraphStore, UpsertCounts
from kgrec.graph.records import InteractionRow, ProductRow, UserRow
from kgrec.text_encoders import EmbeddingCache
from kgrec.text_encoders.cache import text_key
from kgrec.typing import PRODUCT, USER

if TYPE_CHECKING:
    from kgrec.api.engine import Engine

log = logging.getLogger(__name__)


class RecordedEvents(NamedTuple):
    """What :meth:`~kgrec.api.engine.Engine.record_events` did.

    Attributes:
        users: the users whose vectors were recomputed, sorted.
        unchanged: events the graph held already, the same (user, product, kind,
            ts): nothing was written for them (0 when the graph was not written).
    """

    users: list[str]
    unchanged: int


class OnlineWrites:
    """The write path of one :class:`~kgrec.api.engine.Engine`.

    Its public methods :meth:`~kgrec.api.engine.Engine.add_items`,
    :meth:`~kgrec.api.engine.Engine.record_events` and
    :meth:`~kgrec.api.engine.Engine.refresh_users` delegate here.

    Args:
        engine: the engine whose state, write lock, graph and caches it updates.
        text_cache: the data directory's text cache (products added online are
            encoded through it).
    """

    def __init__(self, engine: Engine, text_cache: EmbeddingCache) -> None:
        self._engine = engine
        self._text_cache = text_cache
        self._forgotten_at = 0  # the stamp of this engine's latest forget (_serve_users)

    def add_items(
        self, rows: Sequence[ProductRow], *, write_graph: bool, replace: bool, mirror: bool = False
    ) -> list[str]:
        """:meth:`kgrec.api.engine.Engine.add_items`."""
        engine = self._engine
        if not rows:
            return []
        store = engine._health.require_store("product writes")
        read_back = write_graph or mirror
        ids = [r["id"] for r in rows]
        record = write_graph and not mirror
        if record:
            self._ledger(PRODUCT, ids)
        written = False
        try:
            if record:
                store.upsert_products(rows, replace=replace)
                written = True
                self._ledger(PRODUCT, ids, committed=True)
            stamp = write_stamp()
            while True:
                state = engine._state
                served = (
                    self._served_rows(store, rows, given_links=not mirror)
                    if read_back
                    else list(rows)
                )
                texts = [online_product_text(r) for r in served]
                text, _ = self._text_cache.encode(engine.encoder, texts)
                graph = item_vectors(state, store, served)
                new = [
                    OnlineItem(row=r, graph=graph[i], text=text[i], stamp=stamp)
                    for i, r in enumerate(served)
                ]
                with engine._write_lock:
                    now = engine._state
                    if now.same_space(state):
                        overlay = now.overlay.with_items(new, now.catalogue.row_of)
                        engine._state = dataclasses.replace(now, overlay=overlay)
                        break
        except GraphConnectionError as e:
            engine._health.mark_down()
            raise ServiceUnavailableError(_products_refused(e, written)) from e
        return [r["id"] for r in served]

    def _ledger(self, label: str, ids: Sequence[str], *, committed: bool = False) -> None:
        """Record ``ids`` in the engine's ledger of online writes (none: nothing to do).

        Before the graph write (its failure refuses the write: 503, nothing
        written), and again once it committed, so a write that began before a
        snapshot's export and committed after it is still named as written since
        (a failure then is logged: the write is done).
        """
        ledger = self._engine.written_online
        if ledger is None:
            return
        try:
            ledger.record(label, ids, time.time())
        except ServiceUnavailableError as e:
            if not committed:
                raise
            log.warning("%s; a restart serves these %d from the artifact version", e, len(ids))

    def _served_rows(
        self, store: GraphStore, rows: Sequence[ProductRow], *, given_links: bool
    ) -> list[ProductRow]:
        """The rows as the graph holds them now, read after the write's stamp.

        Properties and links come from the graph (a partial row merged into its
        node, the links the upsert left as they were). With ``given_links`` (this
        engine just wrote ``rows``) the brand and categories a row gives are served
        in its order. A product deleted since is served as sent.
        """
        held = {r["id"]: r for r in store.product_rows([r["id"] for r in rows])}
        served: list[ProductRow] = []
        for r in rows:
            row = held.get(r["id"])
            if row is None:  # deleted since the write: serve the row as sent
                served.append(r)
                continue
            if given_links and r.get("brand_id"):
                row["brand_id"] = r["brand_id"]
            if given_links and r.get("category_ids") is not None:
                row["category_ids"] = list(r["category_ids"] or [])
            served.append(row)
        return served

    def record_events(self, rows: Sequence[InteractionRow], *, write_graph: bool) -> RecordedEvents:
        """:meth:`kgrec.api.engine.Engine.record_events`."""
        engine = self._engine
        if not rows:
            return RecordedEvents([], 0)
        store = engine._health.require_store("event writes")
        state = engine._state
        unknown = sorted({r["product_id"] for r in rows if state.row(r["product_id"]) is None})
        if unknown and write_graph:
            raise NotFoundError(f"product_id: product(s) {', '.join(map(repr, unknown))} not found")
        users = sorted({r["user_id"] for r in rows})
        if write_graph:
            self._ledger(USER, users)
        unchanged = 0
        guard = write_stamp()  # a forget after it may have deleted what this write wrote
        try:
            if write_graph:  # every event in one transaction: a 503 wrote none of them
                store.upsert_users([{"id": u} for u in users])
                unchanged = store.upsert_interactions(rows, atomic=True).unchanged
        except GraphConnectionError as e:
            engine._health.mark_down()
            raise ServiceUnavailableError(
                f"events not accepted: the graph server does not answer ({e}); none of "
                "them was written, send them again when /health reports the graph up"
            ) from e
        if write_graph:
            self._ledger(USER, users, committed=True)
        # each user's products in the order of the request's events (oldest first)
        mine = {u: [r["product_id"] for r in rows if r["user_id"] == u] for u in users}
        try:  # the events are written: accepted, whatever fails from here
            if not write_graph:
                users = self._still_held(store, users)
            stamp = write_stamp()  # after the write, before the graph is read back: the order
            self._serve_users(
                store, users, stamp, mine, forget_purchases=True, weigh_held=False, guard=guard
            )
        except GraphConnectionError as e:
            engine._health.mark_down()
            if write_graph:  # what they bought is not recommended to them meanwhile
                self._keep_history(mine, guard)
            log.warning(
                "%d events written, but the graph server stopped answering before their %d "
                "shoppers were embedded again (%s): their vectors are recomputed at their "
                "next event or the next restart",
                len(rows),
                len(users),
                e,
            )
            return RecordedEvents([], unchanged)
        return RecordedEvents(users, unchanged)

    def _keep_history(self, history: Mapping[str, Collection[str]], guard: int) -> None:
        """Put ``history`` into the online history, without reading the graph.

        Not when a forget stamped after ``guard`` landed meanwhile: it may have
        removed these shoppers.
        """
        engine = self._engine
        with engine._write_lock:
            if self._forgotten_at < guard:
                engine._history.add_online(history, forget_purchases=True)

    def declare_users(self, rows: Sequence[UserRow], *, write_graph: bool) -> UpsertCounts:
        """:meth:`kgrec.api.engine.Engine.declare_users`."""
        engine = self._engine
        store = engine._health.require_store("shopper writes")
        users = [r["id"] for r in rows]
        counts = UpsertCounts()
        if write_graph:
            self._ledger(USER, users)
        guard = write_stamp()  # a forget after it may have deleted what this write wrote
        try:
            if write_graph:
                before = store.nodes_by_id(USER, users)
                counts = store.upsert_users(rows, replace=True)
                self._ledger(USER, users, committed=True)
                self._forget_former_texts(before, rows)
            else:
                users = self._still_held(store, users)
            stamp = write_stamp()
            self._serve_users(store, users, stamp, {}, forget_purchases=False, guard=guard)
        except GraphConnectionError as e:
            engine._health.mark_down()
            raise ServiceUnavailableError(
                f"attributes not accepted: the graph server does not answer ({e}); retry later"
            ) from e
        return counts

    @staticmethod
    def _still_held(store: GraphStore, users: Sequence[str]) -> list[str]:
        """Those of ``users`` the graph holds, read after this write's guard stamp.

        For an engine mirroring another's write (``write_graph=False``): a forget
        that ran between that write and this one deleted the shopper before this
        guard, so only the graph can tell; such a shopper is not served again.
        """
        held = store.existing_ids(USER, users)
        return [u for u in users if u in held]

    def _forget_former_texts(
        self, before: Mapping[str, Mapping[str, object]], rows: Sequence[UserRow]
    ) -> None:
        """Delete the cached vectors of what shoppers declared before ``rows`` replaced it.

        So the text cache holds a shopper's current declaration, the one
        ``DELETE /users/{id}`` deletes (:func:`kgrec.api.forget.forget_user`),
        and no former one (two replacements of one shopper racing can leave the
        loser's; the next forget of a text deletes it). The cache is keyed by
        text: another shopper who declared the same is encoded again when next
        needed. The empty text (nothing declared) is every such shopper's: kept.
        """
        former = {node_text(USER_NODE, before[r["id"]]) for r in rows if r["id"] in before}
        now = {node_text(USER_NODE, {**(r.get("attrs") or {}), "id": r["id"]}) for r in rows}
        stale = [text_key(t) for t in former - now if t]
        if stale:
            self._text_cache.delete(stale)

    def refresh_users(self, user_ids: Sequence[str]) -> list[str]:
        """:meth:`kgrec.api.engine.Engine.refresh_users`."""
        engine = self._engine
        users = sorted(set(user_ids))
        if not users:
            return []
        store = engine._health.require_store("user restores")
        try:
            stamp = write_stamp()  # before the read that says the graph holds them
            users = self._still_held(store, users)  # a shopper forgotten since is not served
            edges = store.neighbourhood(USER, users, hops=1) if users else None
            interacted = online_history(engine._state, users, edges)
            return self._serve_users(store, users, stamp, interacted, forget_purchases=False)
        except GraphConnectionError as e:
            engine._health.mark_down()
            raise ServiceUnavailableError(
                f"users not restored: the graph server does not answer ({e}); retry later"
            ) from e

    def forget_user(self, user_id: str) -> bool:
        """:meth:`kgrec.api.engine.Engine.forget_user`."""
        engine = self._engine
        with engine._write_lock:
            now = engine._state
            ov = now.overlay
            held = user_id in ov.users or user_id in now.catalogue.user_row
            overlay = ov.without_user(user_id)
            catalogue = now.catalogue.without_user(user_id)
            engine._state = dataclasses.replace(now, catalogue=catalogue, overlay=overlay)
            self._forgotten_at = write_stamp()
            return engine._history.forget(user_id) or held

    def _serve_users(
        self,
        store: GraphStore,
        users: Sequence[str],
        stamp: int,
        history: Mapping[str, Collection[str]],
        *,
        forget_purchases: bool,
        weigh_held: bool = True,
        guard: int | None = None,
    ) -> list[str]:
        """Embed ``users`` from the graph (outside the lock) and serve them with ``history``.

        Their vectors go into the overlay (with the most alike voters of those the
        version lacks, and with ``weigh_held`` of those it holds that declared
        themselves anew: :func:`~kgrec.api.online_vectors.newcomer_peers`; events
        alone change no declaration) and their
        ``history`` (user -> products,
        oldest first) into the online history (``forget_purchases``: see
        :meth:`kgrec.api.history.ShopperHistory.add_online`), together under the
        write lock. ``stamp`` orders them among other writes of the same users
        (taken after the graph write, before the graph is read back); ``guard``
        (``stamp`` when None) was taken before the graph write, or before the
        read that said the graph holds them. When a forget stamped after
        ``guard`` lands before they are put in, only those the graph still holds
        are served, embedded again under a new stamp: a forget in between is
        never undone in memory.

        Returns:
            The users served.
        """
        engine = self._engine
        guard = stamp if guard is None else guard
        while users:
            state = engine._state
            vectors = user_vectors(state, store, users)
            peers = newcomer_peers(
                state, store, users, engine.encoder, self._text_cache, held=weigh_held
            )
            with engine._write_lock:
                now = engine._state
                if now.same_space(state) and self._forgotten_at < guard:
                    overlay = now.overlay.with_users(vectors, stamp, peers)
                    engine._state = dataclasses.replace(now, overlay=overlay)
                    mine = {u: history[u] for u in users if u in history}
                    engine._history.add_online(mine, forget_purchases=forget_purchases)
                    return list(users)
                forgotten = self._forgotten_at > guard
            if forgotten:
                stamp = guard = write_stamp()
                users = self._still_held(store, users)
        return []


def _products_refused(error: GraphConnectionError, written: bool) -> str:
    """The 503 of a product write the graph stopped answering during (``written``: after it)."""
    if written:
        return (
            f"products written to the graph but not served yet: the graph server stopped "
            f"answering before they were read back ({error}); send them again when /health "
            "reports the graph up (a product write is idempotent by id), or they are served "
            "from the next restart"
        )
    return (
        f"products not accepted: the graph server does not answer ({error}); some may be "
        "written (each KGREC_GRAPH__WRITE_BATCH_SIZE commits on its own), none is served: "
        "send them again when /health reports the graph up (a product write is idempotent by id)"
    )
