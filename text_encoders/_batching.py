"""Tokenisation off the critical path: worker threads, length buckets, numpy padding.

Texts are cut into chunks; worker threads tokenise the next chunks with the Rust
fast tokenizer (it releases the GIL) while the caller runs the model on the batches
of the current one, so on a GPU the tokenizer's work overlaps the model's. Inside a
chunk, texts are sorted by token count, so each batch is padded only to its own
longest text, and padding is one masked numpy assignment per batch instead of
per-sentence Python. A ``prepare`` hook runs in the worker too (e.g. copying the
batch into pinned host memory), leaving the consumer only device work to launch.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final, TypeVar

import numpy as np
from tokenizers import Tokenizer

CHUNK_TEXTS: Final = 8192  # texts tokenised, sorted and padded per worker task
T = TypeVar("T")


@dataclass(frozen=True)
class TokenBatch:
    """One padded batch, rows in length order.

    Attributes:
        index: int64 [B] positions of these rows in the caller's text list.
        input_ids: int64 [B, L] token ids, right-padded with the pad id.
        attention_mask: int64 [B, L] 1 for real tokens, 0 for padding.
    """

    index: np.ndarray
    input_ids: np.ndarray
    attention_mask: np.ndarray


def _identity(batch: TokenBatch) -> TokenBatch:
    return batch


def token_counts(tokenizer: Tokenizer, texts: Sequence[str]) -> np.ndarray:
    """int64 [N]: tokens per text after truncation, special tokens included."""
    encodings = tokenizer.encode_batch_fast(list(texts))
    return np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))


def sorted_batches(
    tokenizer: Tokenizer,
    texts: Sequence[str],
    batch_size: int,
    *,
    offset: int = 0,
    pad_id: int = 0,
) -> list[TokenBatch]:
    """Tokenise ``texts`` (N) and cut them into padded batches of similar length.

    Args:
        tokenizer: a truncating, non-padding fast tokenizer.
        texts: the texts of one chunk.
        batch_size: rows per batch B.
        offset: position of ``texts[0]`` in the caller's whole list (added to ``index``).
        pad_id: id written into padding positions (masked out anyway).

    Returns:
        ceil(N / B) batches, shortest texts first.
    """
    ids = [e.ids for e in tokenizer.encode_batch_fast(list(texts))]
    lengths = np.fromiter((len(r) for r in ids), dtype=np.int64, count=len(ids))
    order = np.argsort(lengths, kind="stable")
    batches = []
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        lens = lengths[rows]
        mask = np.arange(max(int(lens.max()), 1))[None, :] < lens[:, None]
        input_ids = np.full(mask.shape, pad_id, dtype=np.int64)
        input_ids[mask] = np.fromiter(
            itertools.chain.from_iterable([ids[r] for r in rows.tolist()]),
            dtype=np.int64,
            count=int(lens.sum()),
        )
        batches.append(TokenBatch(rows + offset, input_ids, mask.astype(np.int64)))
    return batches


def token_batches(
    tokenizer: Tokenizer,
    texts: Sequence[str],
    batch_size: int,
    *,
    workers: int = 2,
    chunk_texts: int = CHUNK_TEXTS,
    pad_id: int = 0,
) -> Iterator[TokenBatch]:
    """Padded batches covering every text exactly once (see :func:`prepared_batches`)."""
    return prepared_batches(
        tokenizer,
        texts,
        batch_size,
        _identity,
        workers=workers,
        chunk_texts=chunk_texts,
        pad_id=pad_id,
    )


def prepared_batches(
    tokenizer: Tokenizer,
    texts: Sequence[str],
    batch_size: int,
    prepare: Callable[[TokenBatch], T],
    *,
    workers: int = 2,
    chunk_texts: int = CHUNK_TEXTS,
    pad_id: int = 0,
) -> Iterator[T]:
    """Yield ``prepare(batch)`` for padded batches covering every text exactly once.

    ``workers`` threads tokenise chunks of ``chunk_texts`` texts ahead of the
    consumer and run ``prepare`` on each of their batches; at most ``workers + 1``
    chunks are in flight, which bounds memory.
    """
    chunk = max(chunk_texts, batch_size)
    starts = iter(range(0, len(texts), chunk))
    ahead = max(1, workers)

    def work(start: int) -> list[T]:
        part = texts[start : start + chunk]
        return [
            prepare(b)
            for b in sorted_batches(tokenizer, part, batch_size, offset=start, pad_id=pad_id)
        ]

    with ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="kgrec-tokenize") as pool:
        pending: deque[Future[list[T]]] = deque(
            pool.submit(work, s) for s in itertools.islice(starts, ahead + 1)
        )
        try:
            while pending:
                done = pending.popleft().result()
                if (nxt := next(starts, None)) is not None:
                    pending.append(pool.submit(work, nxt))
                yield from done
        finally:
            for f in pending:
                f.cancel()
