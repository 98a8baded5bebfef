"""Tokenise once, sort by length, pad per batch with numpy (shared by both backends)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer

CHUNK_TEXTS = 8192  # texts tokenised per worker call


@dataclass(frozen=True)
class TokenBatch:
    """One padded batch, rows in length order.

    Attributes:
        index: int64 [B] positions of these rows in the caller's text list.
        input_ids: int64 [B, L] token ids, 0-padded.
        attention_mask: int64 [B, L] 1 for real tokens.
    """

    index: np.ndarray
    input_ids: np.ndarray
    attention_mask: np.ndarray


def _tokenize(tokenizer: Tokenizer, texts: list[str]) -> list[list[int]]:
    return [e.ids for e in tokenizer.encode_batch(texts)]


def token_batches(
    tokenizer: Tokenizer, texts: Sequence[str], batch_size: int, workers: int = 2
) -> Iterator[TokenBatch]:
    """Yield padded batches over ``texts`` in increasing length order.

    Chunks are tokenised by the Rust fast tokenizer in worker threads (it releases
    the GIL), all before the first batch is padded, so the caller's model work on
    one batch overlaps nothing but the padding of the next. Padding is a single
    masked numpy assignment per batch, not a Python loop per sentence.
    """
    chunks = [list(texts[i : i + CHUNK_TEXTS]) for i in range(0, len(texts), CHUNK_TEXTS)]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures: list[Future[list[list[int]]]] = [
            pool.submit(_tokenize, tokenizer, c) for c in chunks
        ]
        ids: list[list[int]] = [row for f in futures for row in f.result()]
    lengths = np.fromiter((len(r) for r in ids), dtype=np.int64, count=len(ids))
    order = np.argsort(lengths, kind="stable")
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        lens = lengths[index]
        width = int(lens.max())
        mask = np.arange(width)[None, :] < lens[:, None]
        input_ids = np.zeros((len(index), width), dtype=np.int64)
        input_ids[mask] = np.fromiter(
            (t for i in index for t in ids[i]), dtype=np.int64, count=int(lens.sum())
        )
        yield TokenBatch(index, input_ids, mask.astype(np.int64))
