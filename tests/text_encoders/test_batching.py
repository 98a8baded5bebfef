"""Length-bucketed batching: every text exactly once, exact tokens, padding masked."""

from __future__ import annotations

import numpy as np

from kgrec.text_encoders import TextEncoder
from kgrec.text_encoders._batching import TokenBatch, prepared_batches, token_batches

TEXTS = [
    "kettle",
    "",
    "waterproof trail running shoe with a grippy outsole and a gusseted tongue",
    "red mug",
    "noise cancelling wireless headphones",
    "a lamp",
    "word " * 400,
]


def test_batches_cover_every_text_once_with_exact_tokens(onnx_encoder: TextEncoder) -> None:
    tok = onnx_encoder.tokenizer
    batches = list(token_batches(tok, TEXTS, 2, workers=2, chunk_texts=3, pad_id=0))
    seen = np.concatenate([b.index for b in batches])
    assert sorted(seen.tolist()) == list(range(len(TEXTS)))
    for b in batches:
        assert b.input_ids.shape == b.attention_mask.shape and b.input_ids.dtype == np.int64
        for row, i in enumerate(b.index.tolist()):
            expected = tok.encode(TEXTS[i]).ids
            n = int(b.attention_mask[row].sum())
            assert b.input_ids[row, :n].tolist() == expected
            assert not b.input_ids[row, n:].any()  # padding is pad id 0
        # padded only to the batch's own longest text
        assert int(b.attention_mask.sum(axis=1).max()) == b.input_ids.shape[1]
    assert max(len(tok.encode(t).ids) for t in TEXTS) == onnx_encoder.max_length


def test_prepare_runs_on_every_batch(onnx_encoder: TextEncoder) -> None:
    tok = onnx_encoder.tokenizer

    def rows(b: TokenBatch) -> int:
        return len(b.index)

    sizes = list(prepared_batches(tok, TEXTS * 5, 4, rows, workers=3, chunk_texts=4))
    assert sum(sizes) == len(TEXTS) * 5 and max(sizes) == 4


def test_vectors_do_not_depend_on_chunking(onnx_encoder: TextEncoder) -> None:
    texts = [f"product {i} " + "blue " * (i % 13) for i in range(40)]
    whole = onnx_encoder.encode(texts, batch_size=64)
    np.testing.assert_allclose(onnx_encoder.encode(texts, batch_size=3), whole, atol=2e-6)
