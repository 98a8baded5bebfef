"""The TextEncoder interface every backend implements."""

from __future__ import annotations

import abc
import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
from tokenizers import Tokenizer
from tqdm import tqdm
from transformers import AutoTokenizer
from transformers.utils import logging as hf_logging

from kgrec.errors import EncoderError

log = logging.getLogger(__name__)

PROGRESS_MIN_TEXTS: Final = 2048  # show a progress bar from this many texts up


@contextlib.contextmanager
def quiet_weight_loading() -> Iterator[None]:
    """Hide transformers' per-tensor "Loading weights" bar.

    Local files load in well under a second; kgrec's own bars and summary lines
    report the real work.
    """
    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


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

    tokenizer: Tokenizer
    pad_id: int
    batch_size: int

    def _load_tokenizer(self, model_dir: Path, max_length: int) -> None:
        """Load the fast (Rust) tokenizer of ``model_dir``, truncating at ``max_length``.

        Unpadded: batches are padded with numpy, see :mod:`kgrec.text_encoders._batching`.
        """
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        self.pad_id = int(tokenizer.pad_token_id or 0)
        self.tokenizer = tokenizer.backend_tokenizer
        self.tokenizer.enable_truncation(max_length)
        self.tokenizer.no_padding()

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

        Raises:
            EncoderError: ``texts`` is one string, or holds a non-string item.
        """
        items = check_texts(texts)
        out = np.empty((len(items), self.dim), dtype=np.float32)
        if not items:
            return out
        bar = tqdm(
            total=len(items),
            unit="sent",
            desc=f"encode {self.backend}/{self.device}",
            disable=not show_progress or len(items) < PROGRESS_MIN_TEXTS,
        )
        start = time.perf_counter()
        self._encode_into(items, batch_size or self.batch_size, out, bar)
        bar.close()
        if show_progress:
            seconds = time.perf_counter() - start
            log.info(
                "encoded %s texts in %.1f s (%s sentences/s, %s on %s)",
                f"{len(items):,}",
                seconds,
                f"{len(items) / seconds:,.0f}",
                self.backend,
                self.device,
            )
        return out

    @abc.abstractmethod
    def _encode_into(
        self, items: list[str], batch_size: int, out: np.ndarray, bar: tqdm[Any]
    ) -> None:
        """Write the [N, dim] unit vectors of ``items`` into ``out``; advance ``bar`` per batch."""
