"""Serving bench: HTTP latency and throughput, ranking step, ANN recall, service RSS.

For each catalogue size (default 100k and 1M synthetic products: graph 64-d,
text 384-d from :func:`kgrec.api.synthetic.synthetic_artifacts`) it starts ``uvicorn``
on 127.0.0.1 in a child process (the API without a graph: every read path but
purchase lookups and explanations), drives ``/recommendations`` and ``/search``
with a bounded number of requests from an ``httpx`` async client at a fixed
concurrency (``/search`` twice: queries seen before, answered from the query
embedding cache, and new queries, encoded on the request), and prints
p50/p95/p99 (and the service's own p50/p99, from each answer's ``Server-Timing``
header), requests/s and the child's RSS. Then the
fusion step alone (``fuse`` + ``top_k`` over C candidates) on cpu and, when
present, cuda; then ANN recall@10 of the served index kinds against exact search.

With ``--real-data-dir DIR`` (a data directory after ``kgrec import``, ``kgrec
train`` and ``kgrec embed``, e.g. MovieLens-100K) it first serves that
directory's latest artifact version with its graph attached, as ``kgrec serve``
does (history exclusion on), twice in the same run: the learned staged ranking
(``KGREC_SERVING__RANKER=true``) and the fused weights (``false``), and prints
``/recommendations`` p50/p99 for the version's users, plain and with
``explain=true`` (k=10: every result with its reason, one graph read for all of
them); then the learned ranking step alone (one shopper's stages, and the ranker
scoring 1,000 candidates).

With ``--ranker-from VERSION`` (an artifact version holding a trained ranking)
the synthetic catalogues are served with that ranker over synthetic tables of
their size (``bench/synthetic_ranking.py``): the learned path's timing at 100k
products.

The steps timed in-process (the learned stages, the fusion step, ANN recall)
are in ``bench/serve_steps.py``.

Run: ``.venv/bin/python bench/serve.py`` (``--help`` for sizes and counts).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import random
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

UNCACHED = "/search (new queries)"
EXPLAINED = "/recommendations?explain=true"
QUERIES = (
    "waterproof trail running shoes",
    "noise cancelling headphones",
    "espresso machine with milk frother",
    "warm winter down jacket",
    "portable bluetooth speaker",
    "lightweight running shoe for marathon",
    "cold brew coffee maker",
    "wireless earbuds for the gym",
)


def serve_child(products: int, port: int, data_dir: Path, ranker_from: Path | None) -> None:
    """Child process: build the synthetic catalogue and serve it on 127.0.0.1:port.

    With ``ranker_from`` (an artifact version holding a trained ranking) the
    catalogue is served with that ranker over synthetic tables
    (``bench/synthetic_ranking.py``).
    """
    import uvicorn
    from synthetic_ranking import synthetic_ranking

    from kgrec.api.app import create_app
    from kgrec.api.engine import Engine
    from kgrec.api.synthetic import synthetic_artifacts
    from kgrec.api.wiring import Services, engine_options
    from kgrec.gnn.artifacts import ArtifactSet
    from kgrec.settings import Settings
    from kgrec.text_encoders import load_encoder

    settings = Settings(data_dir=data_dir, serving={"api_port": port})
    encoder = load_encoder(settings.text, settings.paths.onnx_models)

    @contextlib.contextmanager
    def services(s: Settings) -> Iterator[Services]:
        artifacts = synthetic_artifacts(products, num_users=10_000, text_dim=encoder.dim)
        if ranker_from is not None:
            root = data_dir / "synthetic-versions"
            shutil.rmtree(root, ignore_errors=True)
            writer = synthetic_ranking(ranker_from, products, 10_000)
            artifacts = ArtifactSet.load(artifacts.save(root, writers=[writer]))
        engine = Engine(engine_options(s), artifacts, encoder, None)
        del artifacts
        print(f"ready {engine.index_info()}", flush=True)
        yield Services(settings=s, engine=engine, store=None)

    uvicorn.run(
        create_app(settings, services),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )


def serve_real_child(data_dir: Path, port: int, ranker: bool) -> None:
    """Child process: ``kgrec serve`` over ``data_dir`` (graph attached)."""
    import uvicorn

    from kgrec.api.app import create_app
    from kgrec.settings import Settings

    settings = Settings(
        data_dir=data_dir, serving={"api_port": port, "ranker": ranker, "api_access_log": False}
    )
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Loaded(NamedTuple):
    """One load run: what the client waited, what the service took, wall time, errors.

    Attributes:
        latencies: float [n] seconds from sending each request to reading its answer.
        service: float [n] the service's own seconds per answer (its ``Server-Timing``
            header): the rest of a latency is the loopback, the HTTP stack and this
            client, which share the machine's cores with the service.
        wall: seconds for the whole run.
        errors: answers that were not 200.
    """

    latencies: np.ndarray
    service: np.ndarray
    wall: float
    errors: int

    def line(self) -> str:
        """``p50=... p95=... p99=... (service p50 / p99 ...)  N req/s  errors=E``."""
        p50, p95, p99 = np.percentile(self.latencies * 1e3, [50, 95, 99])
        s50, s99 = np.nanpercentile(self.service * 1e3, [50, 99])
        return (
            f"p50={p50:.1f} ms p95={p95:.1f} ms p99={p99:.1f} ms "
            f"(service {s50:.1f} / {s99:.1f} ms)  "
            f"{len(self.latencies) / self.wall:.0f} req/s  errors={self.errors}"
        )


async def load(
    port: int, path: str, requests: int, concurrency: int, users: int | Sequence[str]
) -> Loaded:
    """Send ``requests`` requests with ``concurrency`` in flight and time them.

    The client's own garbage collector is off while it sends: a full collection
    of this process paused one request by 38 ms in a 100k-product run (timed by a
    throwaway ``gc.callbacks`` hook, 2026-12-05), which the client figures would
    have charged to the service.
    """
    import httpx

    rng = random.Random(0)
    latencies: list[float] = []
    service: list[float] = []
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while not queue.empty():
            queue.get_nowait()
            user = rng.choice(users) if not isinstance(users, int) else f"u{rng.randrange(users)}"
            start = time.perf_counter()
            if path in ("/recommendations", EXPLAINED):
                params: dict[str, str | int] = {"user_id": user, "k": 10}
                if path == EXPLAINED:
                    params["explain"] = "true"
                r = await client.get("/recommendations", params=params)
            else:
                query = rng.choice(QUERIES)
                if path == UNCACHED:  # a query never sent before: encoded on the request
                    query = f"{query} {uuid.uuid4().hex[:8]}"
                body = {"query": query, "user_id": user, "k": 10}
                r = await client.post("/search", json=body)
            latencies.append(time.perf_counter() - start)
            timing = r.headers.get("server-timing", "")  # none through a foreign proxy
            service.append(float(timing.split("dur=")[1]) / 1e3 if "dur=" in timing else np.nan)
            errors += r.status_code != 200

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30.0
    ) as client:
        gc.collect()
        gc.disable()
        start = time.perf_counter()
        try:
            await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        finally:
            wall = time.perf_counter() - start
            gc.enable()
    return Loaded(np.asarray(latencies), np.asarray(service), wall, errors)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a child service (killed when it does not exit within 30 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Poll /health until the child answers."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the service exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1.0).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"the service did not answer within {timeout_s} s")


def bench_http(
    products: int,
    requests: int,
    concurrencies: Sequence[int],
    data_dir: Path,
    ranker_from: Path | None,
) -> None:
    """Start the service with ``products`` products, load it, print figures and RSS."""
    import httpx
    import psutil

    port = free_port()
    cmd = [sys.executable, __file__, "--child", str(products), "--port", str(port)]
    cmd += ["--data-dir", str(data_dir)]
    cmd += ["--ranker-from", str(ranker_from)] if ranker_from is not None else []
    started = time.perf_counter()
    proc = subprocess.Popen(cmd)
    try:
        wait_ready(port, proc, timeout_s=900)
        print(
            f"\n== {products:,} products (service ready in {time.perf_counter() - started:.0f} s)"
        )
        health = httpx.get(f"http://127.0.0.1:{port}/health").json()
        first = httpx.get(
            f"http://127.0.0.1:{port}/recommendations", params={"user_id": "u0", "k": 10}
        ).json()
        print(
            f"indexes: {health['indexes']}  device: {health['device']}  "
            f"ranking: {first.get('ranking')}"
        )
        runs = [
            (path, c) for c in concurrencies for path in ("/recommendations", "/search", UNCACHED)
        ]
        for path, concurrency in runs:
            asyncio.run(load(port, path, max(50, requests // 10), concurrency, 10_000))  # warm
            run = asyncio.run(load(port, path, requests, concurrency, 10_000))
            print(f"{path:22s} n={len(run.latencies)} concurrency={concurrency} {run.line()}")
        rss = psutil.Process(proc.pid).memory_info().rss
        print(f"service RSS: {rss / 2**30:.2f} GiB")
    finally:
        stop(proc)


def bench_real(data_dir: Path, requests: int) -> None:
    """Time /recommendations on ``data_dir``'s artifacts with the graph.

    Learned vs fused ranking, plain and with ``explain=true`` (reasons).
    """
    import httpx

    from kgrec.gnn.artifacts import ArtifactSet

    version = ArtifactSet.latest_path(data_dir / "artifacts")
    users = ArtifactSet.load(version).users["id"].astype(str).tolist()
    print(f"\n== {data_dir} ({version.name}: {len(users):,} users), graph attached")
    for ranker in (True, False):
        port = free_port()
        cmd = [sys.executable, __file__, "--child-real", str(data_dir), "--port", str(port)]
        proc = subprocess.Popen([*cmd, "--ranker", "on" if ranker else "off"])
        try:
            wait_ready(port, proc, timeout_s=600)
            first = httpx.get(
                f"http://127.0.0.1:{port}/recommendations", params={"user_id": users[0], "k": 10}
            ).json()
            for path in ("/recommendations", EXPLAINED):
                asyncio.run(load(port, path, max(50, requests // 10), 1, users))
                run = asyncio.run(load(port, path, requests, 1, users))
                print(
                    f"{path:30s} ranking={first.get('ranking')} k=10 n={len(run.latencies)} "
                    f"concurrency=1 {run.line()}"
                )
        finally:
            stop(proc)
    from serve_steps import bench_learned_step

    bench_learned_step(version)


def main() -> None:
    """Parse arguments and run the parts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="catalogue sizes")
    parser.add_argument("--requests", type=int, default=1000, help="requests per endpoint")
    parser.add_argument("--concurrency", default="1,4", help="requests in flight, comma list")
    parser.add_argument("--recall-queries", type=int, default=200)
    parser.add_argument("--skip", default="", help="comma list of: http,ranking,recall")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, default=Path(".kgrec/bench-serve"))
    parser.add_argument(
        "--real-data-dir", type=Path, help="also serve this data dir's artifacts with its graph"
    )
    parser.add_argument("--child-real", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--ranker", choices=("on", "off"), default="on", help=argparse.SUPPRESS)
    parser.add_argument(
        "--ranker-from",
        type=Path,
        help="artifact version with a trained ranking: serve the synthetic catalogues with "
        "its ranker over synthetic tables (bench/synthetic_ranking.py)",
    )
    args = parser.parse_args()
    if args.child_real:
        serve_real_child(args.child_real, args.port, args.ranker == "on")
        return
    if args.child:
        serve_child(args.child, args.port, args.data_dir, args.ranker_from)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    skip = set(args.skip.split(","))
    if args.real_data_dir:
        bench_real(args.real_data_dir, args.requests)
    if "http" not in skip:
        for n in sizes:
            concurrencies = [int(c) for c in args.concurrency.split(",")]
            bench_http(n, args.requests, concurrencies, args.data_dir, args.ranker_from)
    from serve_steps import bench_ranking, bench_recall

    if "ranking" not in skip:
        bench_ranking([1_000, 10_000, 100_000, 1_000_000], 64, 384)
    if "recall" not in skip:
        bench_recall(max(sizes), args.recall_queries, 384)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # synthetic_ranking, serve_steps
    main()
