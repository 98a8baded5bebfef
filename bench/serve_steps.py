"""The serving bench's in-process steps (``bench/serve.py`` runs them after its HTTP parts).

- :func:`bound_ranking`: a version's learned ranking bound as the service binds it;
- :func:`bench_learned_step`: one shopper's learned stages and the ranker
  scoring 1,000 candidates, over a trained artifact version;
- :func:`bench_ranking`: the fusion step alone (``fuse`` + ``top_k``), on cpu
  and, when present, cuda;
- :func:`bench_recall`: ANN recall@10 of the served index kinds against exact search.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from kgrec.api.index import IndexOptions
    from kgrec.api.personal import PersonalRanking
    from kgrec.gnn.ranking.staged import StagedRanking


def bound_ranking(
    version: Path, index: IndexOptions | None = None
) -> tuple[PersonalRanking, StagedRanking] | None:
    """The learned ranking of ``version`` bound over its rows (None: it holds no ranker).

    With ``index`` (the default serving settings' by default), as the service
    binds it: a catalogue past their threshold reads its linear generators
    through the retrieval indexes.
    """
    import torch

    from kgrec.api.personal import PersonalRanking
    from kgrec.api.wiring import index_options
    from kgrec.gnn.artifacts import ArtifactSet
    from kgrec.settings import Settings

    index = index or index_options(Settings(data_dir=version.parent))
    ranking = PersonalRanking.load(version, fresh_share=0.1, fresh_temperature=0.5, index=index)
    if ranking is None:
        return None
    artifacts = ArtifactSet.load(version)
    staged = ranking.bind(
        torch.from_numpy(np.asarray(artifacts.user_graph)),
        torch.from_numpy(np.asarray(artifacts.product_graph)),
        torch.from_numpy(np.asarray(artifacts.product_text)),
    )
    return ranking, staged


def bench_learned_step(version: Path) -> None:
    """One shopper's stages (``PersonalRanking.served``) and the ranker on 1,000 rows."""
    import torch

    bound = bound_ranking(version)
    if bound is None:
        print(f"{version} holds no ranker (kgrec train trained none)")
        return
    ranking, staged = bound
    torch.set_num_threads(1)
    times = []
    for row in range(min(300, ranking.num_users)):
        start = time.perf_counter()
        ranking.served(staged, row, ranking.history(row), shopper_id=None)
        times.append(time.perf_counter() - start)
    p50, p99 = np.percentile(np.asarray(times) * 1e3, [50, 99])
    print(f"learned stages, one shopper: p50={p50:.1f} ms p99={p99:.1f} ms (n={len(times)})")
    assert staged.ranker is not None
    x = np.random.default_rng(0).standard_normal((1000, len(staged.features)))
    staged.ranker.score(x)
    start = time.perf_counter()
    for _ in range(50):
        staged.ranker.score(x)
    per = (time.perf_counter() - start) / 50 * 1e3
    print(f"ranker alone, 1,000 candidates x {len(staged.features)} features: {per:.2f} ms")


def bench_ranking(sizes: Sequence[int], graph_dim: int, text_dim: int) -> None:
    """The fusion step alone: X [C, D+T+1] @ W [D+T+1, 3] then top-10, per device."""
    import torch

    from kgrec.api.ranking import Weights, fuse, top_k, weight_matrix

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print("\n== ranking step (fuse + top-10), one query")
    if "cuda" not in devices:
        print("cuda: not measured (torch sees no CUDA device on this machine)")
    torch.set_num_threads(1)
    weights = Weights(1.0, 1.0, 0.2)
    for device in devices:
        for c in sizes:
            feats = torch.rand((c, graph_dim + text_dim + 1), device=device)
            w = weight_matrix(
                torch.rand(graph_dim, device=device),
                torch.rand(text_dim, device=device),
                weights,
                graph_dim,
                text_dim,
                device,
            )
            times = []
            for _ in range(30):
                if device == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                top_k(fuse(feats, w, graph_dim), 10)  # top_k copies to host: synchronises
                times.append(time.perf_counter() - start)
            p50, p99 = np.percentile(np.asarray(times[5:]) * 1e3, [50, 99])
            print(f"{device:4s} C={c:>9,}  p50={p50:.2f} ms  p99={p99:.2f} ms")
            del feats


def bench_recall(products: int, queries: int, text_dim: int) -> None:
    """ANN recall@10 of the served index kinds vs exact search, per space."""
    import faiss

    from kgrec.api.synthetic import synthetic_artifacts
    from kgrec.api.wiring import index_options
    from kgrec.settings import Settings

    options = index_options(Settings(data_dir=Path(".kgrec")))
    artifacts = synthetic_artifacts(products, num_users=queries, text_dim=text_dim, seed=1)
    rng = np.random.default_rng(2)
    print(f"\n== ANN recall@10 vs exact, {products:,} products, {queries} queries")
    spaces = {
        "graph": (artifacts.product_graph, artifacts.user_graph),
        "text": (
            artifacts.product_text,
            artifacts.product_text[rng.choice(products, queries, replace=False)]
            + 0.05 * rng.standard_normal((queries, text_dim)).astype(np.float32),
        ),
    }
    faiss.omp_set_num_threads(2)
    for space, (vectors, q) in spaces.items():
        exact = options.build(vectors, kind="exact").search(q, 10)[1]
        for kind in ("ivf_sq8", "ivf"):
            start = time.perf_counter()
            index = options.build(vectors, kind=kind)
            built = time.perf_counter() - start
            faiss.omp_set_num_threads(1)
            start = time.perf_counter()
            got = index.search(q, 10)[1]
            per_query = (time.perf_counter() - start) / queries
            faiss.omp_set_num_threads(2)
            recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, exact, strict=True)])
            print(
                f"{space:5s} {kind:7s} nprobe={options.ivf_nprobe} "
                f"recall@10={recall:.3f}  "
                f"build {built:.0f} s  search {per_query * 1e3:.2f} ms/query"
            )
            del index
