"""Both backends with the real MiniLM weights: shapes, norms, meaning, agreement, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kgrec.errors import EncoderError
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder, load_encoder
from tests.utils.markers import requires_cuda

SHOE = "Waterproof trail running shoe with a grippy outsole"
SHOE_PARAPHRASE = "Trail runners that keep your feet dry, with strong grip"
KETTLE = "Stainless steel electric kettle, 1.7 litres"


@pytest.fixture(params=["torch", "onnx"])
def encoder(request: pytest.FixtureRequest) -> TextEncoder:
    enc: TextEncoder = request.getfixturevalue(f"{request.param}_encoder")
    return enc


def test_shape_dtype_and_unit_norm(encoder: TextEncoder) -> None:
    v = encoder.encode([SHOE, KETTLE, ""])
    assert v.shape == (3, encoder.dim) == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_identical_text_gives_identical_vectors(encoder: TextEncoder) -> None:
    v = encoder.encode([SHOE, KETTLE, SHOE])
    np.testing.assert_array_equal(v[0], v[2])
    # independent of the batch it is encoded in
    np.testing.assert_allclose(encoder.encode([SHOE])[0], v[0], atol=1e-5)


def test_paraphrase_is_closer_than_an_unrelated_product(encoder: TextEncoder) -> None:
    shoe, para, kettle = encoder.encode([SHOE, SHOE_PARAPHRASE, KETTLE])
    assert float(shoe @ para) > float(shoe @ kettle) + 0.2


def test_empty_and_long_text_are_defined(encoder: TextEncoder) -> None:
    v = encoder.encode(["", "word " * 5000])
    assert np.isfinite(v).all()
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_non_string_input_is_a_clear_error(encoder: TextEncoder) -> None:
    with pytest.raises(EncoderError, match="text 1 is a int"):
        encoder.encode(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(EncoderError, match="not one string"):
        encoder.encode("a single string")


def test_backends_agree(torch_encoder: TextEncoder, onnx_encoder: TextEncoder) -> None:
    texts = [SHOE, SHOE_PARAPHRASE, KETTLE, "", "Noise cancelling wireless headphones"] * 7
    a, b = torch_encoder.encode(texts, batch_size=4), onnx_encoder.encode(texts, batch_size=16)
    assert float((a * b).sum(axis=1).min()) >= 0.9999
    assert torch_encoder.model_id == onnx_encoder.model_id


def test_onnx_streams_fill_every_row_as_one_stream_does(
    settings: Settings, onnx_encoder: TextEncoder
) -> None:
    texts = [f"{SHOE} size {i} " + "extra words " * (i % 9) for i in range(61)]
    one = load_encoder(
        settings.updated(text={"backend": "onnx", "onnx_streams": 1}).text,
        settings.paths.onnx_models,
    )
    three = load_encoder(
        settings.updated(text={"backend": "onnx", "onnx_streams": 3, "batch_size": 4}).text,
        settings.paths.onnx_models,
    )
    np.testing.assert_allclose(three.encode(texts), one.encode(texts, batch_size=4), atol=1e-5)
    assert not np.allclose(three.encode(texts[:1]), three.encode(texts[1:2]), atol=1e-3)


def test_matches_sentence_transformers(torch_encoder: TextEncoder) -> None:
    from sentence_transformers import SentenceTransformer

    from kgrec.text_encoders import default_model_dir

    st = SentenceTransformer(str(default_model_dir()), device="cpu")
    texts = [SHOE, KETTLE, SHOE_PARAPHRASE]
    ref = st.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    assert float((torch_encoder.encode(texts) * ref).sum(axis=1).min()) >= 0.9999


def test_onnx_export_is_reused(settings: Settings, onnx_encoder: TextEncoder) -> None:
    exported = list((settings.data_dir / "models" / "onnx").glob("*/model.onnx"))
    assert len(exported) == 1
    before = exported[0].stat().st_mtime_ns
    load_encoder(settings.updated(text={"backend": "onnx"}).text, settings.paths.onnx_models)
    assert exported[0].stat().st_mtime_ns == before


def test_missing_model_directory_is_named(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match=str(tmp_path / "nowhere")):
        load_encoder(settings.text, settings.paths.onnx_models, model=tmp_path / "nowhere")


@pytest.mark.gpu
@requires_cuda
def test_cuda_fp16_agrees_with_cpu_fp32(settings: Settings, torch_encoder: TextEncoder) -> None:
    gpu = load_encoder(
        settings.updated(text={"backend": "torch", "device": "cuda"}).text,
        settings.paths.onnx_models,
    )
    texts = [SHOE, KETTLE, SHOE_PARAPHRASE, ""] * 50
    cos = (gpu.encode(texts) * torch_encoder.encode(texts)).sum(axis=1)
    assert float(cos.min()) >= 0.999


def test_token_limit_is_capped_at_the_position_table(settings: Settings) -> None:
    enc = load_encoder(
        settings.updated(text={"backend": "torch", "max_tokens": 9999}).text,
        settings.paths.onnx_models,
    )
    assert enc.max_length == 512  # MiniLM's position table, not 9999
    v = enc.encode(["word " * 2000])
    assert np.isfinite(v).all() and abs(float(np.linalg.norm(v)) - 1.0) < 1e-5


def test_the_default_limit_is_the_models_own(torch_encoder: TextEncoder) -> None:
    assert torch_encoder.max_length == 256  # sentence_bert_config.json max_seq_length
    long_a = "kettle " * 300
    long_b = long_a + "completely different words at the end " * 20
    a, b = torch_encoder.encode([long_a, long_b])
    np.testing.assert_allclose(a, b, atol=1e-6)  # the tail past 256 tokens is cut


@pytest.mark.gpu
@requires_cuda
def test_cuda_rows_stay_in_order_across_chunks(
    settings: Settings, torch_encoder: TextEncoder
) -> None:
    gpu = load_encoder(
        settings.updated(text={"backend": "torch", "device": "cuda"}).text,
        settings.paths.onnx_models,
    )
    distinct = [f"product {i}: " + "lightweight blue jacket " * (i % 17) for i in range(100)]
    texts = [distinct[(i * 7) % 100] for i in range(20_000)]  # > one tokenisation chunk
    out = gpu.encode(texts, batch_size=512)
    ref = torch_encoder.encode(distinct)
    expected = ref[[(i * 7) % 100 for i in range(20_000)]]
    assert float((out * expected).sum(axis=1).min()) >= 0.999
