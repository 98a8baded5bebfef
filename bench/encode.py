"""Text-encoding throughput: bare sentence-transformers vs kgrec's encoder, same texts, same run.

Prints sentences/s for ``SentenceTransformer.encode`` (the peer) and for each kgrec
backend (torch; ONNX Runtime on the CPU), the mean token count, peak RSS (and peak
CUDA memory), and the cosine agreement of every backend with fp32 vectors. The
contenders take turns on slices of the texts (``--rounds``), so a busy shared
machine slows them alike.

    .venv/bin/python bench/encode.py              # 10k texts on the CPU, 20k on a GPU
    .venv/bin/python bench/encode.py --n 2000 --batch-size 64 --rounds 4
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil
import torch

from kgrec.settings import Settings
from kgrec.text_encoders import compose_product_text, default_model_dir, load_encoder

ST_DEFAULT_BATCH = 32  # SentenceTransformer.encode's default batch_size

NOUNS = [
    "shoe",
    "jacket",
    "kettle",
    "headphones",
    "speaker",
    "backpack",
    "watch",
    "lamp",
    "chair",
    "blender",
    "tent",
    "mug",
]
ADJECTIVES = [
    "waterproof",
    "lightweight",
    "wireless",
    "stainless",
    "ergonomic",
    "compact",
    "insulated",
    "breathable",
    "rechargeable",
    "foldable",
    "vintage",
    "premium",
    "durable",
]
PHRASES = (
    "designed for everyday use",
    "with a two-year warranty",
    "made from recycled materials",
    "ideal for travel and the outdoors",
    "easy to clean and dishwasher safe",
    "with long battery life and fast charging",
    "available in several colours and sizes",
)


def product_texts(n: int, seed: int) -> list[str]:
    """N realistic product texts of about 70 tokens, seeded."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        noun = str(rng.choice(NOUNS))
        title = f"{' '.join(rng.choice(ADJECTIVES, 2))} {noun} model {i % 997}"
        description = ". ".join(str(p) for p in rng.choice(PHRASES, 5, replace=False))
        out.append(
            compose_product_text(
                title.title(),
                description=f"A {noun} {description}.",
                brand=f"Brand{int(rng.integers(0, 300))}",
                categories=["Home", noun.title()],
                attrs={
                    "colour": str(rng.choice(["red", "black", "white", "blue"])),
                    "material": str(rng.choice(["cotton", "steel", "recycled plastic", "oak"])),
                },
            )
        )
    return out


def timed_rounds(
    contenders: dict[str, Callable[[list[str]], np.ndarray]], texts: list[str], rounds: int
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Encode ``texts`` with every contender, interleaved.

    The texts are cut into ``rounds`` slices; each slice is encoded by every
    contender in a rotating order, so load drift on a shared machine hits all of
    them alike. Returns each contender's vectors [N, D] and total seconds.
    """
    names = list(contenders)
    slices = np.array_split(np.arange(len(texts)), max(1, rounds))
    parts: dict[str, list[np.ndarray]] = {k: [] for k in names}
    seconds = dict.fromkeys(names, 0.0)
    for r, rows in enumerate(slices):
        chunk = [texts[i] for i in rows.tolist()]
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            parts[name].append(contenders[name](chunk))
            seconds[name] += time.perf_counter() - start
    return {k: np.concatenate(v) for k, v in parts.items()}, seconds


def main() -> None:
    cuda = torch.cuda.is_available()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000 if cuda else 10_000)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="force one batch size on every contender (default: each its own default)",
    )
    parser.add_argument("--rounds", type=int, default=2 if cuda else 10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from sentence_transformers import SentenceTransformer

    device = "cuda" if cuda else "cpu"
    texts = product_texts(args.n, args.seed)
    warm = texts[:64]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), text={"batch_size": args.batch_size})
        encoders = {
            "torch": load_encoder(
                settings.updated(text={"backend": "torch"}).text, settings.paths.onnx_models
            )
        }
        if not cuda:
            onnx = settings.updated(text={"backend": "onnx"})
            encoders["onnx"] = load_encoder(onnx.text, onnx.paths.onnx_models)
            # one run at a time on every core: what the streams setting buys
            encoders["onnx, 1 stream"] = load_encoder(
                onnx.updated(text={"onnx_streams": 1}).text, onnx.paths.onnx_models
            )
        kgrec_batch = encoders["torch"].batch_size
        peer_batch = args.batch_size or ST_DEFAULT_BATCH
        tokens = [len(e.ids) for e in encoders["torch"].tokenizer.encode_batch(texts)]
        print(
            f"{args.n:,} product texts, mean {np.mean(tokens):.1f} tokens (max {max(tokens)}), "
            f"batch {peer_batch} (peer) / {kgrec_batch} (kgrec), device {device}, "
            f"torch threads {torch.get_num_threads()}, "
            f"{args.rounds} interleaved rounds"
        )
        peer = SentenceTransformer(str(default_model_dir()), device=device)
        if cuda:
            peer = peer.half()
        peer_label = f"sentence-transformers encode ({'fp16' if cuda else 'fp32'}, peer)"
        contenders: dict[str, Callable[[list[str]], np.ndarray]] = {
            peer_label: lambda t: peer.encode(
                t, batch_size=peer_batch, normalize_embeddings=True, convert_to_numpy=True
            )
        }
        if kgrec_batch != peer_batch:  # shows how much of the gain is the batch size alone
            contenders[f"sentence-transformers at kgrec's batch {kgrec_batch}"] = lambda t: (
                peer.encode(
                    t, batch_size=kgrec_batch, normalize_embeddings=True, convert_to_numpy=True
                )
            )
        for name, enc in encoders.items():
            label = f"kgrec {name} on {enc.device}" + (" (fp16)" if cuda else "")
            contenders[label] = lambda t, e=enc: e.encode(t)  # type: ignore[misc]
        for fn in contenders.values():
            fn(warm)
        outputs, seconds = timed_rounds(contenders, texts, args.rounds)
        fp32 = outputs[peer_label]
        if cuda:  # agreement is measured against fp32 vectors
            fp32 = SentenceTransformer(str(default_model_dir()), device="cpu").encode(
                texts[:2000], normalize_embeddings=True
            )
        peer_rate = args.n / seconds[peer_label]
        for label, vectors in outputs.items():
            rate = args.n / seconds[label]
            m = min(len(fp32), args.n)
            cos = (vectors[:m] * fp32[:m]).sum(axis=1)
            print(
                f"{label:<46} {rate:>9,.0f} sentences/s ({seconds[label]:6.1f} s)  "
                f"{rate / peer_rate:.2f}x the peer; cosine vs fp32 min {cos.min():.6f}"
            )
        if "onnx" in encoders:
            a, b = [outputs[k] for k in contenders if k.startswith("kgrec")][:2]
            print(f"torch vs onnx backends: cosine min {(a * b).sum(axis=1).min():.6f}")
    rss = psutil.Process().memory_info().rss / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"RSS now {rss:,.0f} MB, peak RSS of this process {peak:,.0f} MB")
    if cuda:
        print(f"peak CUDA memory {torch.cuda.max_memory_allocated() / 2**20:,.0f} MB")


if __name__ == "__main__":
    main()
