"""LruCache: the engine's bounded caches (query vectors, shoppers' purchases)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """At most ``capacity`` entries; when full, a new one drops the least recently used.

    A :meth:`get` that finds its key and every :meth:`put` make that entry the most
    recently used; ``in`` does not. Not thread-safe: its owners hold their own lock
    around it (:class:`kgrec.api.history.ShopperHistory`'s also guards the online
    history).

    Args:
        capacity: entries kept (0: none).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: K) -> V | None:
        """The value of ``key``, now the most recently used; None when not cached."""
        if key not in self._entries:
            return None
        self._entries.move_to_end(key)
        return self._entries[key]

    def put(self, key: K, value: V) -> None:
        """Cache ``value`` as the most recently used, dropping the least recently used when full."""
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def pop(self, key: K) -> V | None:
        """Remove ``key``; its value, or None when it was not cached."""
        return self._entries.pop(key, None)
