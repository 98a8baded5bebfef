"""Fixtures of the GNN tests.

The small catalogue graph (tests/utils/catalogue.py) and the real encoder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kgrec.graph import GraphStore
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder, load_encoder
from tests.utils.catalogue import write_catalogue


@pytest.fixture(scope="session")
def encoder(settings: Settings) -> TextEncoder:
    """The real default text encoder (torch backend on cpu)."""
    return load_encoder(
        settings.updated(text={"backend": "torch", "device": "cpu"}).text,
        settings.paths.onnx_models,
    )


@pytest.fixture
def catalogue(store: GraphStore) -> GraphStore:
    """The session's graph holding the 12-product catalogue."""
    write_catalogue(store)
    return store


@pytest.fixture
def checkpoint_path(tmp_path: Path) -> Path:
    """Where a test saves a checkpoint."""
    return tmp_path / "checkpoint.pt"
