"""The torch backend: transformers AutoModel, masked mean pooling, L2 normalisation."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm
from transformers import AutoModel, AutoTokenizer, PreTrainedModel

from text_encoders._batching import token_batches
from text_encoders.base import PROGRESS_MIN_TEXTS, TextEncoder, check_texts


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Attention-masked mean of token states, L2-normalised.

    Args:
        hidden: [B, L, D] last hidden states.
        mask: [B, L] 1 for real tokens.

    Returns:
        [B, D] float32 unit vectors.
    """
    m = mask.unsqueeze(-1).to(hidden.dtype)
    summed = (hidden * m).sum(dim=1).float()
    counts = m.sum(dim=1).float().clamp(min=1.0)
    return torch.nn.functional.normalize(summed / counts, p=2, dim=1)


class TransformersEncoder(TextEncoder):
    """A sentence encoder run by torch (fp16 on CUDA, fp32 on the CPU).

    Args:
        model_dir: a local transformers model directory (config, tokenizer, weights).
        model_id: identity of the weights (see :func:`text_encoders.load_encoder`).
        device: ``"cpu"`` or ``"cuda"``.
        max_length: tokens per text; longer text is truncated.
        batch_size: default sentences per forward pass.
    """

    backend = "torch"

    def __init__(
        self, model_dir: Path, model_id: str, *, device: str, max_length: int, batch_size: int
    ) -> None:
        self.model_id = model_id
        self.device = device
        self.max_length = max_length
        self.batch_size = batch_size
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        self.tokenizer = tokenizer.backend_tokenizer
        self.tokenizer.enable_truncation(max_length)
        self.tokenizer.no_padding()
        model: PreTrainedModel = AutoModel.from_pretrained(str(model_dir), local_files_only=True)
        model.eval()  # type: ignore[no-untyped-call]
        if device.startswith("cuda"):
            model = model.half()  # type: ignore[no-untyped-call]
        self.model = model.to(device)  # type: ignore[arg-type]
        self.dim = int(model.config.hidden_size)

    @torch.inference_mode()
    def encode(
        self, texts: Sequence[str], batch_size: int | None = None, *, show_progress: bool = False
    ) -> np.ndarray:
        items = check_texts(texts)
        out = np.empty((len(items), self.dim), dtype=np.float32)
        if not items:
            return out
        size = batch_size or self.batch_size
        cuda = self.device.startswith("cuda")
        bar = tqdm(
            total=len(items),
            unit="sent",
            desc=f"encode {self.backend}/{self.device}",
            disable=not show_progress or len(items) < PROGRESS_MIN_TEXTS,
        )
        start = time.perf_counter()
        pending: list[tuple[np.ndarray, torch.Tensor]] = []
        for batch in token_batches(self.tokenizer, items, size):
            ids = torch.from_numpy(batch.input_ids)
            mask = torch.from_numpy(batch.attention_mask)
            if cuda:  # pinned host memory, asynchronous copies; results gathered at the end
                ids = ids.pin_memory().to(self.device, non_blocking=True)
                mask = mask.pin_memory().to(self.device, non_blocking=True)
            hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
            pending.append((batch.index, mean_pool(hidden, mask)))
            if not cuda:
                index, vectors = pending.pop()
                out[index] = vectors.numpy()
            bar.update(len(batch.index))
        for index, vectors in pending:
            out[index] = vectors.cpu().numpy()
        bar.close()
        if show_progress:
            seconds = time.perf_counter() - start
            print(
                f"encoded {len(items):,} texts in {seconds:.1f} s "
                f"({len(items) / seconds:,.0f} sentences/s, {self.backend} on {self.device})"
            )
        return out
