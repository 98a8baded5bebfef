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
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Final, NamedTuple, TypeVar

import numpy as np
import torch

from kgrec.api.overlay import OnlineItem, write_stamp
from kgrec.api.state import ServedState
from kgrec.api.written_online import CLOCK_MARGIN_S
from kgrec.errors import (
    ArtifactError,
    GraphConnectionError,
    KgrecError,
    NotFoundError,
    ServiceUnavailableError,
)
from kgrec.gnn.snapshot import product_text
from kgrec.graph import GraphStore
from kgrec.graph.records import InteractionRow, ProductRow
from kgrec.text_encoders import EmbeddingCache
from kgrec.typing import DEFAULT_KIND_WEIGHTS, PRODUCT, USER

if TYPE_CHECKING:
    from kgrec.api.engine import Engine

log = logging.getLogger(__name__)
_NEIGHBOUR_SAMPLE: Final = 256
SERVE_BATCH: Final = 256
"""Ids served again from the graph per call (:meth:`OnlineWrites.serve_again`), in a
swap and in a restart's restore."""
T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


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
        try:
            if record:
                store.upsert_products(rows, replace=replace)
                self._ledger(PRODUCT, ids, committed=True)
            stamp = write_stamp()
            while True:
                state = engine._state
                served = (
                    self._served_rows(store, rows, given_links=not mirror)
                    if read_back
                    else list(rows)
                )
                texts = [_product_text(r) for r in served]
                text, _ = self._text_cache.encode(engine.encoder, texts)
                graph = self._embed_items(state, store, served)
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
            raise ServiceUnavailableError(
                f"products not accepted: the graph server does not answer ({e}); retry later"
            ) from e
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

    def carry_over(self, old: ServedState) -> None:
        """Serve in the engine's new state what ``old`` served from online writes (a swap).

        The products and shoppers the new version lacks, and those it holds that
        were written online since its snapshot (:meth:`stale_in_version`; without a
        ledger, every one), through :meth:`serve_again` in batches. A batch that
        fails is logged and left to the next restart's restore; the others go on.
        """
        engine = self._engine
        catalogue = engine._state.catalogue
        written = (
            (PRODUCT, [i.row["id"] for i in old.overlay.items], catalogue.row_of),
            (USER, list(old.overlay.users), catalogue.user_row),
        )
        for label, ids, in_version in written:
            stale = self.stale_in_version(label)
            if stale is not None:
                recent = set(stale)
                ids = [i for i in ids if i not in in_version or i in recent]
            for batch in chunks(ids, SERVE_BATCH):
                try:
                    self.serve_again(label, batch)
                except KgrecError as e:
                    if isinstance(e, GraphConnectionError):
                        engine._health.mark_down()
                    log.warning(
                        "could not carry %d online %s over to version %s: %s; they are served "
                        "again after a restart",
                        len(batch),
                        "products" if label == PRODUCT else "shoppers",
                        engine.version,
                        e,
                    )

    def stale_in_version(self, label: str) -> list[str] | None:
        """Ids of ``label`` the served version holds and the ledger names as written since.

        Written online since the version's snapshot was exported (less
        :data:`~kgrec.api.written_online.CLOCK_MARGIN_S`): the version alone serves
        them stale. None when the engine keeps no ledger, or it cannot be read
        (logged): which are stale is then unknown.
        """
        engine = self._engine
        ledger = engine.written_online
        if ledger is None:
            return None
        catalogue = engine._state.catalogue
        try:
            ids = ledger.since(label, catalogue.snapshot_exported_at - CLOCK_MARGIN_S)
        except ArtifactError as e:
            log.error("%s rows written online since the snapshot are unknown: %s", label, e)
            return None
        in_version = catalogue.row_of if label == PRODUCT else catalogue.user_row
        return [i for i in ids if i in in_version]

    def serve_again(self, label: str, ids: Sequence[str]) -> list[str]:
        """Serve ``ids`` of ``label`` (Product, User) as the graph holds them now.

        Products are read back after a fresh stamp (``mirror``), so an update that
        lands meanwhile is served, not an older read; shoppers are embedded from the
        graph as it is (:meth:`refresh_users`). Ids the graph no longer holds are
        not served.

        Returns:
            The ids served.
        """
        if label == USER:
            return self.refresh_users(ids)
        store = self._engine._health.require_store("products served again")
        rows = store.product_rows(ids)  # read back whole after the stamp (_served_rows)
        return self.add_items(rows, write_graph=False, replace=False, mirror=True)

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
        try:
            if write_graph:
                store.upsert_users([{"id": u} for u in users])
                unchanged = store.upsert_interactions(rows).unchanged
                self._ledger(USER, users, committed=True)
            self._serve_users(store, users)
        except GraphConnectionError as e:
            engine._health.mark_down()
            raise ServiceUnavailableError(
                f"events not accepted: the graph server does not answer ({e}); retry later"
            ) from e
        # each user's products in the order of the request's events (oldest first)
        mine = {u: [r["product_id"] for r in rows if r["user_id"] == u] for u in users}
        engine._history.add_online(mine, forget_purchases=True)
        return RecordedEvents(users, unchanged)

    def refresh_users(self, user_ids: Sequence[str]) -> list[str]:
        """:meth:`kgrec.api.engine.Engine.refresh_users`."""
        engine = self._engine
        users = sorted(set(user_ids))
        if not users:
            return []
        store = engine._health.require_store("user restores")
        try:
            held = store.existing_ids(USER, users)  # a shopper forgotten since is not served
            users = [u for u in users if u in held]
            if not users:
                return []
            self._serve_users(store, users)
            edges = store.neighbourhood(USER, users, hops=1)
        except GraphConnectionError as e:
            engine._health.mark_down()
            raise ServiceUnavailableError(
                f"users not restored: the graph server does not answer ({e}); retry later"
            ) from e
        interacted: dict[str, set[str]] = {u: set() for u in users}
        for edge in edges.to_dict("records"):  # their history, for the exclusion filter
            if edge["dst_label"] == PRODUCT and str(edge["src"]) in interacted:
                interacted[str(edge["src"])].add(str(edge["dst"]))
        engine._history.add_online(interacted, forget_purchases=False)
        return users

    def forget_user(self, user_id: str) -> bool:
        """:meth:`kgrec.api.engine.Engine.forget_user`."""
        engine = self._engine
        with engine._write_lock:
            now = engine._state
            ov = now.overlay
            held = user_id in ov.users or user_id in now.catalogue.user_row
            overlay = dataclasses.replace(
                ov,
                users={u: v for u, v in ov.users.items() if u != user_id},
                user_stamps={u: s for u, s in ov.user_stamps.items() if u != user_id},
            )
            catalogue = now.catalogue.without_user(user_id)
            engine._state = dataclasses.replace(now, catalogue=catalogue, overlay=overlay)
        return engine._history.forget(user_id) or held

    def _serve_users(self, store: GraphStore, users: Sequence[str]) -> None:
        """Embed ``users`` from the graph (outside the lock) and put them in the overlay."""
        engine = self._engine
        stamp = write_stamp()
        while True:
            state = engine._state
            vectors = self._embed_users(state, store, users)
            with engine._write_lock:
                now = engine._state
                if now.same_space(state):
                    overlay = now.overlay.with_users(vectors, stamp)
                    engine._state = dataclasses.replace(now, overlay=overlay)
                    return

    def _embed_items(
        self, state: ServedState, store: GraphStore, rows: Sequence[ProductRow]
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
        self, state: ServedState, store: GraphStore, users: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """[D] graph vector per user: the GNN embedder (one call), else :meth:`_embed_user`."""
        if state.embedder is not None:
            vectors = np.asarray(state.embedder.embed_users(store, users), np.float32)
            return {u: vectors[i] for i, u in enumerate(users)}
        return {u: self._embed_user(state, store, u) for u in users}

    def _embed_user(self, state: ServedState, store: GraphStore, user_id: str) -> np.ndarray:
        """[D] graph vector of a user: the GNN embedder, else kind-weighted mean of products."""
        if state.embedder is not None:
            return np.asarray(state.embedder.embed_user(store, user_id), np.float32)
        edges = store.neighbourhood(USER, [user_id], hops=1)
        rows, weights = [], []
        for e in edges.to_dict("records"):
            row = state.row(str(e["dst"])) if e["dst_label"] == PRODUCT else None
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
        vecs = state.graph_rows(np.asarray(rows, np.int64))
        w = np.asarray(weights, np.float32)
        mean: np.ndarray = (vecs * w[:, None]).sum(0) / w.sum()
        return mean.astype(np.float32)


def _product_text(row: ProductRow) -> str:
    """The text encoded for a product added online, composed as ``kgrec embed`` composes it."""
    return product_text({**(row.get("attrs") or {}), **row})
