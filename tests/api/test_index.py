"""VectorIndex: the faiss indexes `kgrec embed` stores with an artifact version."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from api.index import VectorIndex
from kgrec.settings import Settings


@pytest.mark.parametrize(
    ("kind", "update"),
    [
        ("exact", {}),
        ("ivf_sq8", {"exact_index_max_items": 100}),
        ("hnsw", {"exact_index_max_items": 100, "ann_index": "hnsw"}),
    ],
)
def test_a_saved_index_opens_and_answers_as_built(
    tmp_path: Path, kind: str, update: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings().model_copy(update=update)
    vectors = np.random.default_rng(0).standard_normal((2000, 16)).astype(np.float32)
    built = VectorIndex(vectors, settings)
    assert built.kind == kind
    built.save(tmp_path / "index.faiss")
    with caplog.at_level(logging.WARNING):
        opened = VectorIndex.open(tmp_path / "index.faiss", vectors, settings)
    assert not caplog.records  # read, not rebuilt
    assert opened.kind == kind
    np.testing.assert_array_equal(opened.search(vectors[:5], 5)[1], built.search(vectors[:5], 5)[1])


def test_a_missing_or_stale_index_file_is_rebuilt_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings()
    vectors = np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32)
    with caplog.at_level(logging.WARNING):
        index = VectorIndex.open(tmp_path / "absent.faiss", vectors, settings)
    assert index.size == 50
    assert "absent.faiss is missing" in caplog.text
    VectorIndex(vectors[:10], settings).save(tmp_path / "stale.faiss")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        index = VectorIndex.open(tmp_path / "stale.faiss", vectors, settings)
    assert index.size == 50
    assert "rebuilding" in caplog.text
