"""QueryVectors: a query asked again is not encoded again, and the cache stays bounded."""

from __future__ import annotations

import numpy as np

from kgrec.api.query_vectors import QueryVectors
from kgrec.text_encoders import TextEncoder


def test_a_repeated_query_reads_the_cached_vector(encoder: TextEncoder) -> None:
    queries = QueryVectors(encoder, capacity=2)
    assert "horror" not in queries
    first = queries("horror")
    assert first.dtype == np.float32 and first.shape == (encoder.dim,)
    assert "horror" in queries
    assert queries("horror") is first  # the same array: no second encoder pass
    np.testing.assert_allclose(first, encoder.encode(["horror"])[0], rtol=1e-5, atol=1e-6)


def test_the_cache_keeps_the_most_recent_queries_only(encoder: TextEncoder) -> None:
    queries = QueryVectors(encoder, capacity=1)
    queries("horror")
    queries("comedy")
    assert "comedy" in queries and "horror" not in queries
    none_kept = QueryVectors(encoder, capacity=0)
    none_kept("horror")
    assert "horror" not in none_kept
