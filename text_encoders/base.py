"""The TextEncoder interface every backend implements."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Final

import numpy as np

from kgrec.errors import EncoderError

PROGRESS_MIN_TEXTS: Final = 2048  # show a progress bar from this many texts up


def check_texts(texts: Sequence[str]) -> list[str]:
    """The texts as a list, or :class:`EncoderError` naming the first non-string item."""
    if isinstance(texts, str):
        raise EncoderError(
            "encode() takes a sequence of strings, not one string: wrap it in a list"
        )
    out = list(texts)
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise EncoderError(f"text {i} is a {type(text).__name__}, not a str: {text!r:.80}")
    return out


class TextEncoder(abc.ABC):
    """Texts -> L2-normalised float32 vectors.

    Attributes:
        dim: width D of the vectors.
        model_id: stable identity of the weights (name and a hash of the weights
            file); equal for every backend of the same weights. It keys the
            embedding cache and is stored in GNN checkpoints.
        backend: ``"torch"`` or ``"onnx"``.
        device: the torch device (``"cpu"`` for ONNX Runtime).
        max_length: tokens per text (special tokens included); longer text is truncated.
    """

    dim: int
    model_id: str
    backend: str
    device: str
    max_length: int

    @abc.abstractmethod
    def encode(
        self, texts: Sequence[str], batch_size: int | None = None, *, show_progress: bool = False
    ) -> np.ndarray:
        """Encode texts.

        Args:
            texts: N strings (empty strings are allowed and get a defined vector).
            batch_size: sentences per forward pass (None = the configured size).
            show_progress: show a tqdm bar (sentences/s) and a closing summary line.

        Returns:
            float32 array [N, dim], each row of L2 norm 1.
        """
