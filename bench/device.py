"""The CUDA paths beside the CPU of the same machine, same run: GNN, ranking, encoding.

Two steps, so that the GPU machine needs no graph server, faiss or LightGBM.

Here, with the project's environment and a saved snapshot (``kgrec train`` and
``kgrec evaluate`` write ``DATA/snapshots/<version>.pt``)::

    .venv/bin/python bench/device.py prepare --snapshot DATA/snapshots/V.pt --out .device

(``.device/`` is git-ignored: it holds the model's weights and the graph.)

writes ``.device/inputs.pt`` (the snapshot's graph over the training pairs of
``kgrec train``'s split, :func:`kgrec.gnn.pipeline.training_plan`, and its
validation pairs; knowledge-graph entities left out unless ``--keep-entities``:
MovieLens-100K's 33k entity vectors are 50 MB, more than a device call carries
beside the text model) and ``.device/model`` (the text model with its weights
stored as fp16, half the bytes; ``run`` widens them back to fp32).

There, with a CUDA torch (``PYTHONPATH`` holding the repository root)::

    python bench/device.py run --inputs .device

prints, each CUDA figure beside the CPU's of the same machine:

1. GNN training on the snapshot, cpu then cuda, same seed and epochs: seconds per
   epoch and the best validation Recall@20 / NDCG@20 of each; then the cuda-trained
   model's embeddings on cuda against the same weights on cpu (largest absolute
   difference, overlap of every user's top 20);
2. ``bench/train.py`` (the 100k-product synthetic graph) with ``--device cuda``
   and ``--device cpu``;
3. the fused ranking step (``fuse`` + top-10, ``bench/serve_steps.py``) for 1k to
   1M candidates on cpu and cuda, and whether both devices return the same top 10;
4. ``bench/encode.py`` on cuda (fp16) beside sentence-transformers, with its
   cosine agreement against fp32 vectors.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

BENCH = Path(__file__).resolve().parent
WEIGHTS = "model.safetensors"


def prepare(snapshot_path: Path, out: Path, keep_entities: bool, seed: int) -> None:
    """Write ``out/inputs.pt`` and ``out/model`` (see the module docstring)."""
    from kgrec.gnn.inference import graph_inputs
    from kgrec.gnn.pipeline import training_plan
    from kgrec.gnn.snapshot import ENTITY, Snapshot
    from kgrec.text_encoders import default_model_dir

    snapshot = Snapshot.load(snapshot_path)
    plan = training_plan(snapshot, seed)
    graph = graph_inputs(snapshot, plan.train)
    if not keep_entities and ENTITY in graph.node_types:
        graph = graph.node_type_subgraph([t for t in graph.node_types if t != ENTITY])
    out.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"graph": graph, "train": plan.train, "val": plan.val, "version": snapshot.version},
        out / "inputs.pt",
    )
    model = out / "model"
    copy_model(default_model_dir(), model, torch.float16)
    print(
        f"snapshot {snapshot.version}: {graph.num_nodes_dict} nodes, "
        f"{plan.train.shape[1]:,} training / {plan.val.shape[1]:,} validation pairs "
        f"-> {out / 'inputs.pt'} ({(out / 'inputs.pt').stat().st_size / 2**20:.1f} MiB), "
        f"{model} (fp16 weights)"
    )


def copy_model(source: Path, target: Path, dtype: torch.dtype) -> None:
    """Copy the model directory ``source`` to ``target``, its floating weights cast to ``dtype``."""
    import shutil

    from safetensors.torch import load_file, save_file

    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(WEIGHTS))
    weights = load_file(source / WEIGHTS)
    save_file({k: v.to(dtype) if v.is_floating_point() else v for k, v in weights.items()},
              target / WEIGHTS)  # fmt: skip


def install_model(model: Path, site: Path) -> None:
    """Make ``model`` (fp16 weights) the default model package under ``site``, fp32."""
    import shutil

    from kgrec.text_encoders.load import DEFAULT_MODEL_PACKAGE

    package = site / DEFAULT_MODEL_PACKAGE
    shutil.rmtree(package, ignore_errors=True)
    copy_model(model, package / "model", torch.float32)
    (package / "__init__.py").write_text('"""The bench/device.py copy."""\n')


def gnn_on_snapshot(inputs: Path, epochs: int, gpu: str) -> None:
    """Train on the prepared snapshot on cpu and cuda; compare the embeddings of one model."""
    import copy

    from kgrec.gnn.config import GNNConfig
    from kgrec.gnn.inference import embed_all, with_memory_rows
    from kgrec.gnn.schema import PRODUCT, USER
    from kgrec.gnn.trainer import Trainer, memory_rows_of

    blob = torch.load(inputs / "inputs.pt", weights_only=False)
    graph, train, val = blob["graph"], blob["train"], blob["val"]
    config = replace(GNNConfig(), epochs=epochs, patience=epochs)
    print(
        f"\n== GNN on snapshot {blob['version']}: {graph.num_nodes_dict} nodes, "
        f"{train.shape[1]:,} training pairs, {epochs} epochs, mode {config.mode}"
    )
    results = {}
    for name, device in (("cpu", "cpu"), ("cuda", gpu)):
        start = time.perf_counter()
        result = Trainer(config, device, show_progress=False).fit(graph, train, val)
        seconds = result.epoch_seconds
        results[name] = result
        print(
            f"{name:4s} {result.mode}: {len(seconds)} epochs in "
            f"{time.perf_counter() - start:.1f} s,"
            f" {sum(seconds[1:]) / max(1, len(seconds) - 1):.3f} s/epoch after the first "
            f"({seconds[0]:.2f} s); best val "
            + ", ".join(f"{k} {v:.4f}" for k, v in result.best.items())
        )
    cpu_s = sum(results["cpu"].epoch_seconds[1:])
    cuda_s = sum(results["cuda"].epoch_seconds[1:])
    print(f"cuda / cpu epoch time: {cuda_s / max(cpu_s, 1e-9):.3f}x ({cpu_s / cuda_s:.1f}x faster)")
    trained = results["cuda"]
    rows = memory_rows_of(trained.memory_index, graph.num_nodes_dict[PRODUCT])
    with_rows = with_memory_rows(graph, rows if config.product_memory else None)
    on = {
        name: embed_all(copy.deepcopy(trained.model).to(device), with_rows.to(device))
        for name, device in (("cuda", gpu), ("cpu", "cpu"))
    }
    diff = max(float((on["cuda"][t].cpu() - on["cpu"][t]).abs().max()) for t in (USER, PRODUCT))
    top = {
        d: torch.topk(e[USER].cpu() @ e[PRODUCT].cpu().T, 20, dim=1).indices for d, e in on.items()
    }
    overlap = (top["cuda"].unsqueeze(2) == top["cpu"].unsqueeze(1)).any(2).float().mean()
    print(
        f"inference of the cuda-trained model, cuda vs cpu: max |diff| {diff:.2e}, "
        f"top-20 overlap {float(overlap):.4f} over {top['cpu'].shape[0]:,} users"
    )


def ranking_agreement(sizes: list[int], graph_dim: int, text_dim: int, gpu: str) -> None:
    """Whether the fused top 10 of the same candidates is the same on cpu and cuda."""
    from kgrec.api.ranking import Weights, fuse, top_k, weight_matrix

    gen = torch.Generator().manual_seed(0)
    for c in sizes:
        feats = torch.rand((c, graph_dim + text_dim + 1), generator=gen)
        q_graph, q_text = torch.rand(graph_dim, generator=gen), torch.rand(text_dim, generator=gen)
        ids = {}
        for device in ("cpu", gpu):
            w = weight_matrix(
                q_graph.to(device), q_text.to(device), Weights(1.0, 1.0, 0.2), graph_dim,
                text_dim, device,
            )  # fmt: skip
            ids[device] = top_k(fuse(feats.to(device), w, graph_dim), 10)[0]
        same = bool((ids["cpu"] == ids[gpu]).all())
        print(f"C={c:>9,}: top-10 ids {'equal' if same else 'DIFFER'} on cpu and cuda")


def bench(script: str, *args: str, env: dict[str, str] | None = None) -> None:
    """Run ``bench/<script>`` with ``args``, its output streamed."""
    print(f"\n== bench/{script} {' '.join(args)}", flush=True)
    code = subprocess.call([sys.executable, str(BENCH / script), *args], env=env)
    if code:
        print(f"bench/{script} exited with {code}")


def run(args: argparse.Namespace) -> None:
    """The four checks of the module docstring, in order."""
    gpu = args.gpu
    if gpu == "cuda" and not torch.cuda.is_available():
        raise SystemExit(
            "torch sees no CUDA device: run this on the GPU machine (--gpu cpu: a dry run)"
        )
    name = torch.cuda.get_device_properties(0).name if gpu == "cuda" else "no GPU (dry run)"
    print(
        f"torch {torch.__version__}, {name}, "
        f"{os.cpu_count()} cpus (torch threads {torch.get_num_threads()})",
        flush=True,
    )
    sys.path.insert(0, str(BENCH))
    steps = time.perf_counter()
    gnn_on_snapshot(args.inputs, args.epochs, gpu)
    threads = str(torch.get_num_threads())
    for device in (gpu, "cpu"):
        bench("train.py", "--device", device, "--threads", threads, *args.train_args.split())
    from serve_steps import bench_ranking

    sizes = [int(c) for c in args.candidates.split(",")]
    bench_ranking(sizes, 64, 384)
    ranking_agreement(sizes, 64, 384, gpu)
    site = Path(args.site)
    install_model(args.inputs / "model", site)
    path = os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])
    bench("encode.py", "--n", str(args.texts), env={**os.environ, "PYTHONPATH": path})
    print(f"\nall checks in {time.perf_counter() - steps:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("prepare", help="here: write the inputs the GPU machine needs")
    p.add_argument("--snapshot", type=Path, required=True, help="DATA/snapshots/<version>.pt")
    p.add_argument("--out", type=Path, default=Path(".device"))
    p.add_argument("--keep-entities", action="store_true")
    p.add_argument("--seed", type=int, default=0, help="the split's seed (KGREC_GNN__SEED)")
    r = sub.add_parser("run", help="there: the checks, cuda beside cpu")
    r.add_argument("--inputs", type=Path, default=Path(".device"))
    r.add_argument("--epochs", type=int, default=10, help="GNN epochs on the snapshot, per device")
    r.add_argument("--train-args", default="--steps 5", help="more bench/train.py arguments")
    r.add_argument("--candidates", default="1000,100000,1000000", help="ranking sizes")
    r.add_argument("--texts", type=int, default=20_000, help="bench/encode.py texts")
    r.add_argument("--site", default="/tmp/kgrec-device-site", help="where the model is unpacked")
    r.add_argument("--gpu", default="cuda", help="the device beside cpu (cpu: a dry run here)")
    args = parser.parse_args()
    if args.step == "prepare":
        prepare(args.snapshot, args.out, args.keep_entities, args.seed)
    else:
        run(args)


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH.parent))
    main()
