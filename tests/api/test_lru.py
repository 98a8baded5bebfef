"""LruCache: bounded, and the entry dropped when full is the least recently used."""

from __future__ import annotations

from kgrec.api._lru import LruCache


def test_a_full_cache_drops_the_least_recently_put() -> None:
    cache = LruCache[str, int](2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)
    assert len(cache) == 2
    assert "a" not in cache
    assert cache.get("b") == 2 and cache.get("c") == 3


def test_a_get_makes_its_entry_the_most_recent_and_in_does_not() -> None:
    cache = LruCache[str, int](2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)  # drops b: a was read since
    assert "b" not in cache
    assert "a" in cache  # not a use: a stays the least recent
    cache.put("d", 4)
    assert "a" not in cache and cache.get("c") == 3 and cache.get("d") == 4


def test_putting_a_cached_key_replaces_its_value_and_makes_it_the_most_recent() -> None:
    cache = LruCache[str, int](2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 10)
    cache.put("c", 3)
    assert len(cache) == 2
    assert cache.get("a") == 10 and "b" not in cache


def test_a_miss_and_a_pop() -> None:
    cache = LruCache[str, frozenset[str]](4)
    assert cache.get("a") is None
    cache.put("a", frozenset())
    assert cache.get("a") == frozenset()  # a falsy value is a hit
    assert cache.pop("a") == frozenset()
    assert cache.pop("a") is None
    assert len(cache) == 0


def test_a_cache_of_capacity_zero_keeps_nothing() -> None:
    cache = LruCache[str, int](0)
    cache.put("a", 1)
    assert len(cache) == 0 and cache.get("a") is None
