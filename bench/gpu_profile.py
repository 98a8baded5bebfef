"""Where the GPU paths spend their time: the GNN's full-batch step and text encoding, on cuda.

Run on the GPU machine after ``bench/device.py prepare`` (it reads ``.device/model``)::

    python bench/gpu_profile.py [--inputs .device]

1. The GNN's full-batch BPR step on ``bench/train.py``'s 100k-product synthetic
   graph: seconds per step with PyTorch's deterministic algorithms
   (``GNNConfig.deterministic``, the default) and without; then the profiler's
   top operators of two steps, by self CUDA time and by self CPU time.
2. Text encoding of ``--texts`` texts (``bench/encode.py``'s): the tokeniser
   alone, the model's forward passes alone over the same padded batches already
   on the GPU, and kgrec's encoder end to end at a few batch sizes and tokeniser
   worker counts.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

BENCH = Path(__file__).resolve().parent


def sync(device: str) -> None:
    """Wait for ``device``'s queued work (a no-op on cpu)."""
    if device == "cuda":
        torch.cuda.synchronize()


def gnn_step(products: int, users: int, interactions: int, steps: int, gpu: str) -> None:
    """Seconds per full-batch step, deterministic on and off; the profiler's top operators."""
    from torch.profiler import ProfilerActivity, profile
    from train import synthetic_graph

    from kgrec.gnn.config import GNNConfig
    from kgrec.gnn.schema import INTERACTED
    from kgrec.gnn.trainer import Trainer

    graph = synthetic_graph(products, users, interactions, 384, 0)
    pairs = graph[INTERACTED].edge_index
    base = replace(GNNConfig(), mode="full", epochs=1)
    print(f"\n== GNN full-batch step, {products:,} products, {interactions:,} interactions")

    def per_step(deterministic: bool, n: int) -> float:
        config = replace(base, steps_per_epoch=n, deterministic=deterministic)
        result = Trainer(config, gpu, show_progress=False).fit(graph, pairs)
        return result.epoch_seconds[0] / n

    per_step(True, 1)  # CUDA context, kernels, allocator: not timed
    for deterministic in (True, False):
        print(f"deterministic={deterministic}: {per_step(deterministic, steps):.3f} s/step")
    for deterministic in (True, False):
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if gpu == "cuda" else [])
        with profile(activities=activities) as prof:
            per_step(deterministic, 2)
        averages = prof.key_averages()
        for key in ("self_device_time_total", "self_cpu_time_total")[gpu != "cuda" :]:
            print(f"\n-- deterministic={deterministic}, two steps, top operators by {key}")
            print(averages.table(sort_by=key, row_limit=12, max_name_column_width=50))


def encoding(model: Path, n: int, site: Path, gpu: str) -> None:
    """The tokeniser, the forward passes and the whole encoder, timed apart."""
    from device import install_model

    install_model(model, site)
    sys.path.insert(0, str(site))
    from encode import product_texts

    from kgrec.text_encoders import TransformersEncoder, default_model_dir
    from kgrec.text_encoders.load import model_identity
    from kgrec.text_encoders.transformers_encoder import mean_pool

    model_dir = default_model_dir()
    texts = product_texts(n, 0)

    def encoder(batch_size: int, workers: int) -> TransformersEncoder:
        return TransformersEncoder(
            model_dir, model_identity(model_dir), device=gpu, max_length=256,
            batch_size=batch_size, tokenize_workers=workers,
        )  # fmt: skip

    enc = encoder(512, 4)
    enc.encode(texts[: min(n, 2000)])  # warm-up
    print(f"\n== text encoding, {n:,} texts on {gpu}")
    start = time.perf_counter()
    encodings = enc.tokenizer.encode_batch(texts)
    tokenise = time.perf_counter() - start
    print(f"tokeniser alone (encode_batch, Rust threads): {n / tokenise:,.0f} texts/s")
    order = sorted(range(n), key=lambda i: len(encodings[i].ids))
    batches = []
    for lo in range(0, n, 512):
        rows = [encodings[i].ids for i in order[lo : lo + 512]]
        width = max(len(r) for r in rows)
        ids = torch.zeros((len(rows), width), dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for j, r in enumerate(rows):
            ids[j, : len(r)], mask[j, : len(r)] = torch.tensor(r), 1
        batches.append((ids.to(gpu), mask.to(gpu)))
    with torch.inference_mode():
        sync(gpu)
        start = time.perf_counter()
        for ids, mask in batches:
            mean_pool(enc.model(input_ids=ids, attention_mask=mask).last_hidden_state, mask)
        sync(gpu)
    forward = time.perf_counter() - start
    print(f"forward passes alone (batch 512, inputs on the GPU): {n / forward:,.0f} texts/s")
    for batch_size, workers in ((512, 4), (1024, 4), (512, 8), (1024, 8), (2048, 8)):
        enc = encoder(batch_size, workers)
        enc.encode(texts[: min(n, 2000)])
        start = time.perf_counter()
        enc.encode(texts)
        seconds = time.perf_counter() - start
        print(f"kgrec encoder, batch {batch_size}, {workers} tokeniser workers: {n / seconds:,.0f}"
              " texts/s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=Path, default=Path(".device"))
    parser.add_argument("--texts", type=int, default=50_000)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--site", type=Path, default=Path("/tmp/kgrec-device-site"))
    parser.add_argument("--graph", default="100000,50000,1000000", help="products,users,pairs")
    parser.add_argument("--gpu", default="cuda", help="cpu: a dry run here")
    args = parser.parse_args()
    if args.gpu == "cuda" and not torch.cuda.is_available():
        raise SystemExit(
            "torch sees no CUDA device: run it on the GPU machine (--gpu cpu: dry run)"
        )
    products, users, interactions = (int(v) for v in args.graph.split(","))
    gnn_step(products, users, interactions, args.steps, args.gpu)
    encoding(args.inputs / "model", args.texts, args.site, args.gpu)


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH.parent))
    sys.path.insert(0, str(BENCH))
    main()
