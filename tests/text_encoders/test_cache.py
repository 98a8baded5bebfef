"""The on-disk cache: a second run encodes nothing new, across objects and restarts."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kgrec.settings import Settings
from kgrec.text_encoders import EmbeddingCache, TextEncoder, load_encoder
from kgrec.text_encoders.cache import vector_space
from tests.utils.threads import errors_in_threads


def test_second_run_encodes_nothing_new(tmp_path: Path, onnx_encoder: TextEncoder) -> None:
    texts = ["red trail shoe", "blue kettle", "red trail shoe", "wireless headphones"]
    cache = EmbeddingCache.in_data_dir(tmp_path)
    first, encoded = cache.encode(onnx_encoder, texts)
    assert encoded == 3  # distinct texts
    np.testing.assert_allclose(first, onnx_encoder.encode(texts), atol=1e-6)
    cache.close()

    reopened = EmbeddingCache.in_data_dir(tmp_path)  # a restart: a new object on the same file
    again, encoded_again = reopened.encode(onnx_encoder, texts)
    assert encoded_again == 0
    np.testing.assert_array_equal(again, first)

    changed, encoded_changed = reopened.encode(onnx_encoder, [*texts, "green kettle"])
    assert encoded_changed == 1 and changed.shape == (5, onnx_encoder.dim)
    assert reopened.count(vector_space(onnx_encoder)) == 4


def test_entries_are_per_model(tmp_path: Path, onnx_encoder: TextEncoder) -> None:
    cache = EmbeddingCache.in_data_dir(tmp_path)
    cache.encode(onnx_encoder, ["kettle"])
    assert cache.get("another-model@0", ["kettle"]) == {}
    assert cache.count("another-model@0") == 0


def test_entries_are_per_token_limit(
    tmp_path: Path, settings: Settings, onnx_encoder: TextEncoder
) -> None:
    long_text = "waterproof trail running shoe with a grippy outsole " * 20
    short = load_encoder(
        settings.updated(text={"backend": "onnx", "max_tokens": 16}).text,
        settings.paths.onnx_models,
    )
    cache = EmbeddingCache.in_data_dir(tmp_path)
    full, _ = cache.encode(onnx_encoder, [long_text])
    cut, encoded = cache.encode(short, [long_text])
    assert encoded == 1  # not served the vector of the untruncated text
    np.testing.assert_allclose(cut, short.encode([long_text]), atol=1e-6)
    assert float(full[0] @ cut[0]) < 0.9999


def test_threads_share_caches_without_locking_errors(tmp_path: Path) -> None:
    """Threads reading and writing through two caches on one file all succeed.

    One connection shared by threads once let a write upgrade another thread's open
    read, which SQLite refuses at once ("database is locked") when the other
    connection has written since; 8 threads x 100 rounds failed every run.
    """
    caches = [EmbeddingCache.in_data_dir(tmp_path), EmbeddingCache.in_data_dir(tmp_path)]

    def work(n: int) -> None:
        cache = caches[n % 2]
        for k in range(100):
            keys = [f"t{n}-{k}-{j}" for j in range(20)]
            cache.get("space", [*keys, *(f"t{(n + 1) % 8}-{k}-{j}" for j in range(20))])
            cache.put("space", keys, np.full((20, 4), n, dtype=np.float32))

    errors = errors_in_threads(work, 8)
    assert errors == []
    assert caches[0].count("space") == 8 * 100 * 20
    assert caches[1].get("space", ["t3-99-0"])["t3-99-0"].tolist() == [3.0] * 4
