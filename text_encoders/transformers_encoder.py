"""The torch backend: transformers AutoModel, masked mean pooling, L2 normalisation."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import torch
from tqdm import tqdm
from transformers import AutoModel, PreTrainedModel

from kgrec.text_encoders._batching import TokenBatch, prepared_batches, token_batches
from kgrec.text_encoders.base import TextEncoder, quiet_weight_loading

CUDA_BATCHES_IN_FLIGHT: Final = 3  # batches queued on the GPU before the host waits


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Attention-masked mean of token states, L2-normalised.

    Args:
        hidden: [B, L, D] last hidden states.
        mask: [B, L] 1 for real tokens.

    Returns:
        [B, D] float32 unit vectors.
    """
    m = mask.unsqueeze(-1).float()
    summed = (hidden.float() * m).sum(dim=1)  # fp16 states are summed in fp32
    counts = m.sum(dim=1).clamp(min=1.0)
    return torch.nn.functional.normalize(summed / counts, p=2, dim=1)


class TransformersEncoder(TextEncoder):
    """A sentence encoder run by torch (fp16 on CUDA, fp32 on the CPU).

    Args:
        model_dir: a local transformers model directory (config, tokenizer, weights).
        model_id: identity of the weights (see :func:`kgrec.text_encoders.load_encoder`).
        device: ``"cpu"`` or ``"cuda"``.
        max_length: tokens per text; longer text is truncated.
        batch_size: default sentences per forward pass.
        tokenize_workers: threads tokenising ahead of the model.

    On CUDA the weights run in fp16 (pooling in fp32), batches are tokenised and
    pinned by worker threads while the GPU works, and copies are non-blocking.
    """

    backend = "torch"

    def __init__(
        self,
        model_dir: Path,
        model_id: str,
        *,
        device: str,
        max_length: int,
        batch_size: int,
        tokenize_workers: int = 2,
    ) -> None:
        self.model_id = model_id
        self.device = device
        self.max_length = max_length
        self.batch_size = batch_size
        self.tokenize_workers = tokenize_workers
        self._load_tokenizer(model_dir, max_length)
        with quiet_weight_loading():
            model: PreTrainedModel = AutoModel.from_pretrained(
                str(model_dir), local_files_only=True
            )
        model.eval()  # type: ignore[no-untyped-call]
        if device.startswith("cuda"):
            model = model.half()  # type: ignore[no-untyped-call]
        self.model = model.to(device)  # type: ignore[arg-type]
        self.dim = int(model.config.hidden_size)

    @torch.inference_mode()
    def _encode_into(
        self, items: list[str], batch_size: int, out: np.ndarray, bar: tqdm[Any]
    ) -> None:
        if self.device.startswith("cuda"):
            self._encode_cuda(items, batch_size, out, bar)
            return
        for batch in token_batches(
            self.tokenizer, items, batch_size, workers=self.tokenize_workers, pad_id=self.pad_id
        ):
            ids = torch.from_numpy(batch.input_ids)
            mask = torch.from_numpy(batch.attention_mask)
            hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
            out[batch.index] = mean_pool(hidden, mask).numpy()
            bar.update(len(batch.index))

    def _encode_cuda(self, items: list[str], size: int, out: np.ndarray, bar: tqdm[Any]) -> None:
        """The GPU path: the host never waits for the device except to hand results back.

        Worker threads tokenise, pad and copy each batch into pinned host memory;
        this thread only launches non-blocking host-to-device copies and the fp16
        forward pass, then a non-blocking device-to-host copy of the [B, D] fp32
        vectors into pinned memory, and waits on a batch's event only when
        ``CUDA_BATCHES_IN_FLIGHT`` newer batches are queued behind it.
        """

        def pin(batch: TokenBatch) -> _PinnedBatch:
            return _PinnedBatch(
                batch.index,
                torch.from_numpy(batch.input_ids).pin_memory(),
                torch.from_numpy(batch.attention_mask).pin_memory(),
            )

        in_flight: deque[tuple[np.ndarray, torch.Tensor, torch.cuda.Event]] = deque()

        def drain(keep: int) -> None:
            while len(in_flight) > keep:
                index, host, done = in_flight.popleft()
                done.synchronize()
                out[index] = host.numpy()
                bar.update(len(index))

        for batch in prepared_batches(
            self.tokenizer, items, size, pin, workers=self.tokenize_workers, pad_id=self.pad_id
        ):
            ids = batch.input_ids.to(self.device, non_blocking=True)
            mask = batch.attention_mask.to(self.device, non_blocking=True)
            hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
            vectors = mean_pool(hidden, mask)
            host = torch.empty(vectors.shape, dtype=torch.float32, pin_memory=True)
            host.copy_(vectors, non_blocking=True)
            done = torch.cuda.Event()  # type: ignore[no-untyped-call]
            done.record()
            in_flight.append((batch.index, host, done))
            drain(CUDA_BATCHES_IN_FLIGHT)
        drain(0)


@dataclass(frozen=True)
class _PinnedBatch:
    index: np.ndarray
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
