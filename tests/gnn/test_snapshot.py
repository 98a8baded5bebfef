"""Node features of the export: entities without a name get identity without an encoder pass."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from kgrec.api.synthetic import synthetic_artifacts
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.gnn.snapshot import ENTITY, Snapshot, identity_vector, node_text, node_vectors
from kgrec.gnn.version_checksums import write_checksums
from kgrec.text_encoders import EmbeddingCache, TextEncoder
from tests.utils.snapshots import clustered_snapshot


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


@pytest.mark.parametrize("label", ["User", "product", "shopper"])
def test_node_vectors_refuse_what_is_not_a_node_type_they_encode(
    encoder: TextEncoder, tmp_path: Path, label: str
) -> None:
    """A graph label ("User") would fall through to encoding the id: an error instead."""
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    with pytest.raises(ValueError, match=rf"not '{label}' \(a graph label\?\)"):
        node_vectors(label, [{"id": "u1", "occupation": "horror fan"}], encoder, cache)


def test_files_a_later_kgrec_wrote_load_without_its_new_keys(tmp_path: Path) -> None:
    """A rollback to this kgrec reads a manifest and a snapshot that carry keys it lacks."""
    version = synthetic_artifacts(20, 5, text_dim=8).save(tmp_path / "versions")
    manifest = version / "manifest.json"
    written = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**written, "added_later": {"x": 1}}))
    write_checksums(version)  # as that kgrec published it
    assert ArtifactSet.load(version).manifest.num_products == 20
    path = tmp_path / "snap.pt"
    clustered_snapshot(users=4, products=6).save(path)
    blob = torch.load(path, weights_only=False)
    torch.save({**blob, "added_later": 1}, path)
    assert Snapshot.load(path).version == "test"
