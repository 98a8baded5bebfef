"""Text encoders: product and query text to L2-normalised vectors, offline and cached.

:func:`load_encoder` returns the configured :class:`TextEncoder` (torch or ONNX
Runtime backend over a local transformers model; the bundled all-MiniLM-L6-v2 by
default). :func:`compose_product_text` is the one way product text is built, and
:class:`EmbeddingCache` keeps vectors on disk by (model id, text hash).
"""

from kgrec.text_encoders.base import TextEncoder
from kgrec.text_encoders.cache import EmbeddingCache
from kgrec.text_encoders.compose import compose_product_text
from kgrec.text_encoders.load import default_model_dir, load_encoder
from kgrec.text_encoders.onnx_encoder import OnnxEncoder
from kgrec.text_encoders.transformers_encoder import TransformersEncoder

__all__ = [
    "EmbeddingCache",
    "OnnxEncoder",
    "TextEncoder",
    "TransformersEncoder",
    "compose_product_text",
    "default_model_dir",
    "load_encoder",
]
