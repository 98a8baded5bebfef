"""Settings for tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kgrec.settings import Settings


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for tests: a private data directory, small heap, quick retries.

    ``overrides`` as :meth:`Settings.updated` takes them: global values, or a
    mapping of a section's fields (``graph={"connect_retries": 0}``) merged into it.
    """
    quick = {"embedded_heap_mb": 512, "connect_retries": 2, "write_batch_size": 500}
    return Settings(data_dir=data_dir, graph=quick).updated(**overrides)
