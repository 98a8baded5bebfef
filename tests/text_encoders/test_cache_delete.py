"""EmbeddingCache.delete: the entries leave the table and the files (forgetting a shopper)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kgrec.text_encoders import EmbeddingCache
from kgrec.text_encoders.cache import text_key


def test_deleted_keys_leave_the_table_and_the_files(tmp_path: Path) -> None:
    cache = EmbeddingCache.in_data_dir(tmp_path)
    gone, kept = text_key("country: IS; segment: night owl"), text_key("country: DE")
    cache.put("model-a", [gone, kept], np.ones((2, 4), np.float32))
    cache.put("model-b", [gone], np.ones((1, 4), np.float32))
    assert cache.delete([gone, gone]) == 2  # under every model
    assert cache.get("model-a", [gone, kept]).keys() == {kept}
    assert cache.get("model-b", [gone]) == {}
    assert cache.delete([gone]) == 0
    files = list((tmp_path / "text_cache").iterdir())
    assert files and not [f.name for f in files if gone.encode() in f.read_bytes()]
    cache.close()
