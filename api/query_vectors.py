"""QueryVectors: typed queries' text vectors, encoded once and kept in an LRU cache."""

from __future__ import annotations

import threading

import numpy as np

from kgrec.api._lru import LruCache
from kgrec.text_encoders import TextEncoder


class QueryVectors:
    """The text-space vector of a typed query, from a bounded cache.

    A query asked again (the same string) is not encoded again; the cache keeps
    the ``capacity`` most recently used ones. Thread-safe.

    Args:
        encoder: the text encoder of the served artifact version's text space.
        capacity: queries kept (0: none).
    """

    def __init__(self, encoder: TextEncoder, capacity: int) -> None:
        self.encoder = encoder
        self._cache = LruCache[str, np.ndarray](capacity)
        self._lock = threading.Lock()

    def __contains__(self, query: object) -> bool:
        """True when ``query`` is cached (a lookup would not run the encoder)."""
        with self._lock:
            return query in self._cache

    def __call__(self, query: str) -> np.ndarray:
        """[T] float32 vector of ``query``."""
        with self._lock:
            cached = self._cache.get(query)
        if cached is not None:
            return cached
        vec = np.asarray(self.encoder.encode([query])[0], np.float32)
        with self._lock:
            self._cache.put(query, vec)
        return vec
