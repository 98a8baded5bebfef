"""VectorIndex: the faiss indexes `kgrec embed` stores with an artifact version."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kgrec.api.index import VectorIndex
from kgrec.api.wiring import index_options
from kgrec.settings import Settings


@pytest.mark.parametrize(
    ("kind", "update"),
    [
        ("exact", {}),
        ("ivf_sq8", {"exact_max_items": 100}),
        ("hnsw", {"exact_max_items": 100, "ann_index": "hnsw"}),
    ],
)
def test_a_saved_index_opens_and_answers_as_built(
    tmp_path: Path, kind: str, update: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    options = replace(index_options(Settings()), **update)
    vectors = np.random.default_rng(0).standard_normal((2000, 16)).astype(np.float32)
    built = options.build(vectors)
    assert built.kind == kind
    built.save(tmp_path / "index.faiss")
    with caplog.at_level(logging.WARNING):
        opened = VectorIndex.open(tmp_path / "index.faiss", vectors, options)
    assert not caplog.records  # read, not rebuilt
    assert opened.kind == kind
    np.testing.assert_array_equal(opened.search(vectors[:5], 5)[1], built.search(vectors[:5], 5)[1])


def test_a_missing_or_stale_index_file_is_rebuilt_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    options = index_options(Settings())
    vectors = np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32)
    with caplog.at_level(logging.WARNING):
        index = VectorIndex.open(tmp_path / "absent.faiss", vectors, options)
    assert index.size == 50
    assert "absent.faiss is missing" in caplog.text
    options.build(vectors[:10]).save(tmp_path / "stale.faiss")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        index = VectorIndex.open(tmp_path / "stale.faiss", vectors, options)
    assert index.size == 50
    assert "rebuilding" in caplog.text
