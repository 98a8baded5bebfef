"""The ONNX Runtime backend: the same weights exported once, pooling inside the graph."""

from __future__ import annotations

import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch
from tqdm import tqdm
from transformers import AutoConfig, AutoModel

from kgrec.errors import EncoderError
from kgrec.text_encoders._batching import token_batches
from kgrec.text_encoders.base import TextEncoder, quiet_weight_loading
from kgrec.text_encoders.transformers_encoder import mean_pool

ONNX_FILE = "model.onnx"


class _Pooled(torch.nn.Module):
    """Model + masked mean pooling + normalisation, so ONNX returns final vectors."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return mean_pool(hidden, attention_mask)


def export_onnx(model_dir: Path, target: Path) -> Path:
    """Export ``model_dir`` to ``target/model.onnx`` (once; written atomically)."""
    path = target / ONNX_FILE
    if path.exists():
        return path
    target.mkdir(parents=True, exist_ok=True)
    with quiet_weight_loading():
        model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
    ids = torch.ones((2, 8), dtype=torch.int64)
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0  # trace with padding, so the attention-mask branch is the one recorded
    tmp = target / f".{ONNX_FILE}.{os.getpid()}.tmp"
    # The legacy TorchScript exporter records one branch of data-dependent code; the
    # tests check the exported graph against torch on mixed lengths.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Pooled(model),
            (ids, mask),
            str(tmp),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "embedding": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
    tmp.replace(path)
    return path


class OnnxEncoder(TextEncoder):
    """A sentence encoder run by ONNX Runtime on the CPU.

    Args:
        model_dir: the local transformers model directory (tokenizer, weights).
        model_id: identity of the weights.
        export_dir: where the exported ``model.onnx`` is kept and reused.
        max_length: tokens per text; longer text is truncated.
        batch_size: default sentences per run.
        threads: CPU cores to use (0 = all cores).
        streams: batches run at once, each on ``threads // streams`` intra-op threads
            (0 = one per core). Small length-sorted batches parallelise poorly
            inside one run, so independent runs side by side keep the cores busier
            (ONNX Runtime releases the GIL and its sessions are thread-safe).
        tokenize_workers: threads tokenising ahead of the model.
    """

    backend = "onnx"
    device = "cpu"

    def __init__(
        self,
        model_dir: Path,
        model_id: str,
        *,
        export_dir: Path,
        max_length: int,
        batch_size: int,
        threads: int = 0,
        streams: int = 0,
        tokenize_workers: int = 2,
    ) -> None:
        self.model_id = model_id
        self.batch_size = batch_size
        self.max_length = max_length
        self.tokenize_workers = tokenize_workers
        self._load_tokenizer(model_dir, max_length)
        self.dim = int(
            AutoConfig.from_pretrained(str(model_dir), local_files_only=True).hidden_size
        )
        try:
            path = export_onnx(model_dir, export_dir)
        except Exception as e:
            raise EncoderError(f"could not export {model_dir} to ONNX in {export_dir}: {e}") from e
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        cores = threads or (os.cpu_count() or 1)
        self.streams = max(1, min(streams or cores, cores))
        options.intra_op_num_threads = max(1, cores // self.streams)
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def _encode_into(
        self, items: list[str], batch_size: int, out: np.ndarray, bar: tqdm[Any]
    ) -> None:
        batches = token_batches(
            self.tokenizer, items, batch_size, workers=self.tokenize_workers, pad_id=self.pad_id
        )
        lock = threading.Lock()  # guards the batch iterator and the bar
        failed = threading.Event()  # one stream's error stops the others

        def stream() -> None:
            while not failed.is_set():
                with lock:
                    batch = next(batches, None)
                if batch is None:
                    return
                feeds = {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask}
                try:
                    out[batch.index] = self.session.run(["embedding"], feeds)[0]
                except BaseException:
                    failed.set()
                    raise
                with lock:
                    bar.update(len(batch.index))

        if self.streams == 1:
            stream()
            return
        with ThreadPoolExecutor(self.streams, thread_name_prefix="kgrec-onnx") as pool:
            for done in [pool.submit(stream) for _ in range(self.streams)]:
                done.result()
