"""Overlay: products and users added online since the artifact version was built.

Immutable like :class:`kgrec.api.catalogue.Catalogue`: every write builds a new overlay
(copying only the small online part) and the engine swaps one reference, so a
request never sees half an update. Overlay product ``j`` has global row ``P + j``
(``P`` = catalogue size); a product re-sent with an id of the catalogue shadows
that catalogue row.

Online writes compute their vectors outside the engine's write lock, so two
updates of one product or user may reach the overlay in either order. Each
carries a :func:`write_stamp` taken after its graph write and before it read the
graph back; the overlay keeps, per id, the update with the larger stamp (it read
a graph that held the other's write).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp
import torch

from kgrec.graph.records import ProductRow

_STAMPS = itertools.count(1)


def write_stamp() -> int:
    """A process-wide increasing number (thread-safe): the order of online updates."""
    return next(_STAMPS)


@dataclass(frozen=True)
class OnlineItem:
    """One product added online with its vectors (graph [D], text [T], float32).

    ``stamp``: its :func:`write_stamp` (0 = older than any stamped update).
    """

    row: ProductRow
    graph: np.ndarray
    text: np.ndarray
    stamp: int = 0


def _empty(dim: int, device: str) -> torch.Tensor:
    return torch.zeros((0, dim), dtype=torch.float32, device=device)


@dataclass(frozen=True)
class Overlay:
    """Online products (tensors ``graph`` [n, D], ``text`` [n, T] on ``device``) and users.

    ``user_peers``: the most alike voters (CSR [1, U'],
    :meth:`kgrec.api.personal.PersonalRanking.newcomer_peers`) of the online users
    the version lacks, and of those it holds that declared themselves anew since
    (an empty row: alike to every voter); ``user_peer_stamps`` their write stamps.
    """

    graph_dim: int
    text_dim: int
    device: str
    items: tuple[OnlineItem, ...] = ()
    row_of: Mapping[str, int] = field(default_factory=dict)
    shadowed: frozenset[int] = frozenset()
    users: Mapping[str, np.ndarray] = field(default_factory=dict)
    user_stamps: Mapping[str, int] = field(default_factory=dict)
    user_peers: Mapping[str, sp.csr_matrix] = field(default_factory=dict)
    user_peer_stamps: Mapping[str, int] = field(default_factory=dict)
    graph: torch.Tensor | None = None
    text: torch.Tensor | None = None
    price: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    in_stock: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    @property
    def size(self) -> int:
        """Number of online products n (global rows ``P .. P+n-1``)."""
        return len(self.items)

    @property
    def added(self) -> int:
        """Online products that are not catalogue products (re-sent catalogue ids excluded)."""
        return len(self.items) - len(self.shadowed)

    def graph_tensor(self) -> torch.Tensor:
        """[n, D] graph vectors of the online products."""
        return self.graph if self.graph is not None else _empty(self.graph_dim, self.device)

    def text_tensor(self) -> torch.Tensor:
        """[n, T] text vectors of the online products."""
        return self.text if self.text is not None else _empty(self.text_dim, self.device)

    def with_items(self, new: Sequence[OnlineItem], base_row_of: Mapping[str, int]) -> Overlay:
        """A new overlay with ``new`` added.

        An id already online is replaced in place, unless the online one has a larger
        stamp (a newer update got there first): that one is kept.
        """
        items = list(self.items)
        row_of = dict(self.row_of)
        shadowed = set(self.shadowed)
        for item in new:
            pid = item.row["id"]
            if pid in row_of:
                if items[row_of[pid]].stamp <= item.stamp:
                    items[row_of[pid]] = item
            else:
                row_of[pid] = len(items)
                items.append(item)
            if pid in base_row_of:
                shadowed.add(base_row_of[pid])
        graph = torch.from_numpy(np.stack([i.graph for i in items]).astype(np.float32))
        text = torch.from_numpy(np.stack([i.text for i in items]).astype(np.float32))
        price = np.array(
            [np.nan if i.row.get("price") is None else i.row.get("price") for i in items],
            dtype=np.float32,
        )
        in_stock = np.array([i.row.get("in_stock") is not False for i in items], dtype=bool)
        return replace(
            self,
            items=tuple(items),
            row_of=row_of,
            shadowed=frozenset(shadowed),
            graph=graph.to(self.device),
            text=text.to(self.device),
            price=price,
            in_stock=in_stock,
        )

    def with_users(
        self,
        vectors: Mapping[str, np.ndarray],
        stamp: int = 0,
        peers: Mapping[str, sp.csr_matrix | None] | None = None,
    ) -> Overlay:
        """A new overlay with these users' graph vectors [D] and ``peers`` set at ``stamp``.

        A vector, and apart from it a peers row, stays when the one held has a
        larger stamp (a later write's: writes finish in any order). ``peers`` maps a
        user to its row or to None (none of its own); users it does not name keep
        theirs (an event changes no declaration).
        """
        users = dict(self.users)
        stamps = dict(self.user_stamps)
        for user, vector in vectors.items():
            if stamps.get(user, 0) <= stamp:
                users[user] = vector
                stamps[user] = stamp
        user_peers = dict(self.user_peers)
        peer_stamps = dict(self.user_peer_stamps)
        for user, row in (peers or {}).items():
            if peer_stamps.get(user, 0) <= stamp:
                peer_stamps[user] = stamp
                if row is None:
                    user_peers.pop(user, None)
                else:
                    user_peers[user] = row
        return replace(
            self,
            users=users,
            user_stamps=stamps,
            user_peers=user_peers,
            user_peer_stamps=peer_stamps,
        )

    def peers_of(self, user_id: str | None) -> sp.csr_matrix | None:
        """The most alike voters of online user ``user_id`` (None: none computed, or no id)."""
        return None if user_id is None else self.user_peers.get(user_id)

    def without_user(self, user_id: str) -> Overlay:
        """A new overlay without the online user ``user_id`` (its vector, stamp and peers)."""
        return replace(
            self,
            users={u: v for u, v in self.users.items() if u != user_id},
            user_stamps={u: s for u, s in self.user_stamps.items() if u != user_id},
            user_peers={u: p for u, p in self.user_peers.items() if u != user_id},
            user_peer_stamps={u: s for u, s in self.user_peer_stamps.items() if u != user_id},
        )

    def rows_in(self, categories: set[str], brands: set[str]) -> np.ndarray:
        """Local rows (0-based) of online products matching the category and brand sets.

        An empty set means no constraint on that field.
        """
        keep = []
        for j, item in enumerate(self.items):
            cats = set(item.row.get("category_ids") or [])
            if categories and not (cats & categories):
                continue
            if brands and item.row.get("brand_id") not in brands:
                continue
            keep.append(j)
        return np.asarray(keep, dtype=np.int64)
