"""Settings for tests."""

from __future__ import annotations

from pathlib import Path

from kgrec.settings import Settings


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for tests: a private data directory, small heap, quick retries."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "embedded_heap_mb": 512,
        "connect_retries": 2,
        "write_batch_size": 500,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
