"""Node features of the export: entities without a name get identity without an encoder pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kgrec.gnn.snapshot import ENTITY, identity_vector, node_text, node_vectors
from kgrec.text_encoders import EmbeddingCache, TextEncoder


def test_unnamed_entities_get_their_kind_plus_a_fixed_identity(
    encoder: TextEncoder, tmp_path: Path
) -> None:
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    rows = [
        {"id": "m.0aaa", "kind": "person"},
        {"id": "m.0bbb", "kind": "person"},
        {"id": "m.0ccc", "kind": "language"},
        {"id": "e9", "kind": "person", "name": "George Lucas"},
    ]
    vecs = node_vectors(ENTITY, rows, encoder, cache)
    assert vecs.shape == (4, encoder.dim)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-5)
    # only the named entity's text and the two kinds were encoded, not the ids
    _, again = cache.encode(encoder, ["person", "language", node_text(ENTITY, rows[3])])
    assert again == 0
    _, fresh = cache.encode(encoder, [node_text(ENTITY, rows[0])])
    assert fresh == 1  # "person: m.0aaa" was never encoded
    named = cache.encode(encoder, [node_text(ENTITY, rows[3])])[0][0]
    np.testing.assert_allclose(vecs[3], named, atol=1e-6)
    # distinct per id, the same on every call, closer within a kind than across kinds
    assert not np.allclose(vecs[0], vecs[1])
    np.testing.assert_array_equal(vecs, node_vectors(ENTITY, rows, encoder, cache))
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2]
    assert vecs[0] @ vecs[1] > 0.9  # the kind dominates (IDENTITY_SCALE)
    np.testing.assert_array_equal(identity_vector("m.0aaa", 8), identity_vector("m.0aaa", 8))
