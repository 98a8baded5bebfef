"""One encoder per backend for the session (real MiniLM weights, real vectors)."""

from __future__ import annotations

import pytest

from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder, load_encoder


@pytest.fixture(scope="session")
def torch_encoder(settings: Settings) -> TextEncoder:
    return load_encoder(
        settings.updated(text={"backend": "torch", "device": "cpu"}).text,
        settings.paths.onnx_models,
    )


@pytest.fixture(scope="session")
def onnx_encoder(settings: Settings) -> TextEncoder:
    return load_encoder(settings.updated(text={"backend": "onnx"}).text, settings.paths.onnx_models)
