"""Text-encoding throughput: bare sentence-transformers vs kgrec's encoder, same texts, same run.

Prints sentences/s for ``SentenceTransformer.encode`` (the peer) and for each kgrec
backend (torch; ONNX Runtime on the CPU), the mean token count, peak RSS, and the
cosine agreement of every backend with the fp32 peer.

    .venv/bin/python bench/encode.py              # 10k texts on the CPU, 20k on a GPU
    .venv/bin/python bench/encode.py --n 2000 --batch-size 64
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
from text_encoders import compose_product_text, default_model_dir, load_encoder

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
    """n realistic product texts of about 70 tokens, seeded."""
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


def run(label: str, n: int, fn: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    """Time one full encode; print and return (vectors, sentences/s)."""
    start = time.perf_counter()
    vectors = fn()
    seconds = time.perf_counter() - start
    rss = psutil.Process().memory_info().rss / 2**20
    print(f"{label:<46} {n / seconds:>9,.0f} sentences/s  ({seconds:6.1f} s, RSS {rss:,.0f} MB)")
    return vectors, n / seconds


def main() -> None:
    cuda = torch.cuda.is_available()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000 if cuda else 10_000)
    parser.add_argument("--batch-size", type=int, default=512 if cuda else 128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from sentence_transformers import SentenceTransformer

    device = "cuda" if cuda else "cpu"
    texts = product_texts(args.n, args.seed)
    warm = texts[:64]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), text_batch_size=args.batch_size)
        encoders = {"torch": load_encoder(settings.model_copy(update={"text_backend": "torch"}))}
        if not cuda:
            encoders["onnx"] = load_encoder(settings.model_copy(update={"text_backend": "onnx"}))
        tokens = [len(e.ids) for e in encoders["torch"].tokenizer.encode_batch(texts)]  # type: ignore[attr-defined]
        print(
            f"{args.n:,} product texts, mean {np.mean(tokens):.1f} tokens (max {max(tokens)}), "
            f"batch {args.batch_size}, device {device}, torch threads {torch.get_num_threads()}"
        )
        peer = SentenceTransformer(str(default_model_dir()), device=device)
        if cuda:
            peer = peer.half()
        peer.encode(warm)
        ref, peer_rate = run(
            f"sentence-transformers encode ({'fp16' if cuda else 'fp32'}, peer)",
            args.n,
            lambda: peer.encode(
                texts, batch_size=args.batch_size, normalize_embeddings=True, convert_to_numpy=True
            ),
        )
        fp32 = ref
        if cuda:  # agreement is measured against fp32 vectors
            fp32 = SentenceTransformer(str(default_model_dir()), device="cpu").encode(
                texts[:2000], normalize_embeddings=True
            )
        outputs = {}
        for name, enc in encoders.items():
            enc.encode(warm)
            label = f"kgrec {name} backend on {enc.device}"
            outputs[name], rate = run(label, args.n, lambda e=enc: e.encode(texts))  # type: ignore[misc]
            m = min(len(fp32), args.n)
            cos = (outputs[name][:m] * fp32[:m]).sum(axis=1)
            print(
                f"{'':<46} {rate / peer_rate:.2f}x the peer; cosine vs fp32 "
                f"min {cos.min():.6f} mean {cos.mean():.6f}"
            )
        if len(outputs) == 2:
            agree = (outputs["torch"] * outputs["onnx"]).sum(axis=1)
            print(f"torch vs onnx backends: cosine min {agree.min():.6f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process {peak:,.0f} MB")


if __name__ == "__main__":
    main()
