"""ShopperHistory: what each shopper bought or interacted with, for the exclusion filter.

Two caches: purchases read from the graph (LRU of ``user_cache_size`` users; the
fused ranking's history) and the products each user interacted with through
``POST /events`` since the artifact version (both rankings' history).
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd

from kgrec.api._lru import LruCache
from kgrec.api.health import GraphHealth
from kgrec.api.state import ServedState
from kgrec.api.written_online import CLOCK_MARGIN_S
from kgrec.errors import GraphConnectionError
from kgrec.typing import PRODUCT, USER


class ShopperHistory:
    """The purchases cache and the online history of the engine's shoppers.

    Args:
        health: the graph the purchases are read from.
        cache_size: shoppers whose purchases are cached.
    """

    def __init__(self, health: GraphHealth, *, cache_size: int) -> None:
        self._health = health
        self.purchases = LruCache[str, frozenset[str]](cache_size)
        self._lock = threading.Lock()
        # products each user interacted with through POST /events, oldest first
        # (an ordered set: the recency-weighted generators read the order)
        self.online: dict[str, dict[str, None]] = {}

    def cached(self, user_id: str) -> bool:
        """True when the user's purchases are cached (no graph read to rank them)."""
        return user_id in self.purchases

    def purchased(self, user_id: str | None) -> frozenset[str]:
        """Products the user purchased (graph read, LRU-cached; empty when the graph is down)."""
        store = self._health.store
        if user_id is None or store is None:
            return frozenset()
        with self._lock:
            cached = self.purchases.get(user_id)
        if cached is not None:
            return cached
        if not self._health.up():
            return frozenset()
        try:
            edges = store.neighbourhood(USER, [user_id], hops=1)
        except GraphConnectionError:
            self._health.mark_down()
            return frozenset()
        bought = frozenset(
            str(e["dst"])
            for e in edges.to_dict("records")
            if e["dst_label"] == PRODUCT and (e["props"] or {}).get("kind") == "purchase"
        )
        self.remember_purchases(user_id, bought)
        return bought

    def remember_purchases(self, user_id: str, bought: frozenset[str]) -> None:
        """Cache the user's purchases, dropping the least recently used user when full."""
        with self._lock:
            self.purchases.put(user_id, bought)

    def add_online(
        self, interacted: Mapping[str, Collection[str]], *, forget_purchases: bool
    ) -> None:
        """Add products the users interacted with online to their history.

        The history is what the exclusion filter and the generators read; each
        user's products, in the order given, become its most recent ones (a
        product seen before moves to the end). With ``forget_purchases``, their
        cached purchases are dropped too.
        """
        with self._lock:
            for u, products in interacted.items():
                if forget_purchases:
                    self.purchases.pop(u)
                mine = self.online.setdefault(u, {})
                for p in products:
                    mine.pop(p, None)
                    mine[p] = None

    def forget(self, user_id: str) -> bool:
        """Drop the user from both caches; True when either held something of theirs.

        An empty purchase list, cached for any id asked about, does not count.
        """
        with self._lock:
            held = bool(self.purchases.pop(user_id))
            return self.online.pop(user_id, None) is not None or held

    def rows(self, state: ServedState, user_id: str | None) -> np.ndarray:
        """The int64 product rows of the shopper's history.

        The version's interactions (when it holds a learned ranking) and the events
        recorded online, oldest first.
        """
        ranking = state.catalogue.ranking
        user_row = state.catalogue.user_row.get(user_id) if user_id is not None else None
        version = ranking.history(user_row) if ranking is not None else np.zeros(0, np.int64)
        return np.concatenate([version, self._online_rows(state, user_id)]).astype(np.int64)

    def _online_rows(self, state: ServedState, user_id: str | None) -> np.ndarray:
        """Rows of the products ``user_id`` interacted with online, oldest first."""
        if user_id is None:
            return np.zeros(0, np.int64)
        with self._lock:
            ids = list(self.online.get(user_id, ()))
        rows = [r for r in (state.row(i) for i in ids) if r is not None]
        return np.asarray(rows, np.int64)


def online_history(
    state: ServedState, users: Sequence[str], edges: pd.DataFrame | None
) -> dict[str, list[str]]:
    """Each user's products of its events since the artifact version, from the graph.

    What the service's history held for them before a restart, as far as the
    graph's interaction ``edges`` tell (:func:`restored_order`). The version's
    part of a shopper's history is the version's own; without a learned ranking
    (no version history) every product the shopper interacted with counts.
    """
    catalogue = state.catalogue
    ranking = catalogue.ranking
    latest: dict[str, dict[str, float]] = {u: {} for u in users}
    for edge in [] if edges is None else edges.to_dict("records"):
        mine = latest.get(str(edge["src"]))
        if edge["dst_label"] == PRODUCT and mine is not None:
            ts = float((edge["props"] or {}).get("ts") or 0)
            product = str(edge["dst"])
            mine[product] = max(ts, mine.get(product, ts))
    out: dict[str, list[str]] = {}
    for user, products in latest.items():
        row = catalogue.user_row.get(user)
        held = (
            set(state.ids_of(ranking.history(row).tolist()))
            if ranking is not None and row is not None
            else set()
        )
        out[user] = restored_order(products, held, catalogue.snapshot_exported_at)
    return out


def restored_order(
    latest: Mapping[str, float], held: Collection[str], exported_at: float
) -> list[str]:
    """The products of a shopper's events since a version, oldest first, as the graph tells.

    ``latest``: product -> the latest ``ts`` of the shopper's interactions with it;
    ``held``: the products the version's history holds; ``exported_at``: when the
    version's snapshot was exported (unix seconds). A product the version lacks
    counts; one it holds counts when an interaction with it is stamped at or after
    the export (less :data:`~kgrec.api.written_online.CLOCK_MARGIN_S`): an event
    with it moved it to the end of the history. Ordered by that ``ts``, ties by id.

    The service's own history kept the events' arrival order, which the graph
    does not record, so the two differ where that order is not the ``ts`` order:
    events stamped alike (no ``ts`` given: the second they came, in one request or
    several) come back in id order, and a product the version holds that an event
    with an older ``ts`` touched again (a backfill) stays where the version has it.
    """
    since = exported_at - CLOCK_MARGIN_S
    kept = [(ts, p) for p, ts in latest.items() if p not in held or ts >= since]
    return [p for _, p in sorted(kept)]
