"""api/metrics.py: the exposition read back with prometheus-client's parser."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import prometheus_client
from prometheus_client.parser import text_string_to_metric_families

from kgrec.api.metrics import DEFAULT_BUCKETS_S, MULTIPROC_ENV, Metrics
from tests.utils.metrics import sample, samples

GAUGES = {"kgrec_index_items": ("Products served.", 17.0), "kgrec_graph_up": ("Up.", 1.0)}


def render(metrics: Metrics) -> str:
    return metrics.render(GAUGES, {"version": "v7"}).decode()


def test_series_keep_their_names_labels_and_types() -> None:
    metrics = Metrics()
    for seconds in (0.0005, 0.003, 0.003, 3.0):
        metrics.observe("GET", "/recommendations", 200, seconds)
    metrics.observe("POST", "/events", 503, 0.002)
    text = render(metrics)
    types = {family.name: family.type for family in text_string_to_metric_families(text)}
    assert types["kgrec_requests"] == "counter"
    assert types["kgrec_request_seconds"] == "histogram"
    assert types["kgrec_index_items"] == types["kgrec_graph_up"] == "gauge"
    ok = {"method": "GET", "route": "/recommendations", "status": "200"}
    assert sample(text, "kgrec_requests_total", **ok) == 4
    assert sample(text, "kgrec_requests_total", method="POST", route="/events", status="503") == 1
    route = "/recommendations"
    buckets = {
        le: sample(text, "kgrec_request_seconds_bucket", route=route, le=le)
        for le in ("0.001", "0.0025", "0.005", "2.5", "+Inf")
    }
    assert buckets == {"0.001": 1, "0.0025": 1, "0.005": 3, "2.5": 3, "+Inf": 4}
    assert sample(text, "kgrec_request_seconds_count", route=route) == 4
    assert abs(sample(text, "kgrec_request_seconds_sum", route=route) - 3.0065) < 1e-9
    bucket_count = sum(1 for name, _ in samples(text) if name == "kgrec_request_seconds_bucket")
    assert bucket_count == 2 * (len(DEFAULT_BUCKETS_S) + 1)  # two routes
    assert sample(text, "kgrec_index_items") == 17
    assert sample(text, "kgrec_artifact_info", version="v7") == 1


def test_label_values_are_escaped() -> None:
    metrics = Metrics()
    route = 'odd "route"\\with\nnewline'
    metrics.observe("GET", route, 404, 0.01)
    assert sample(render(metrics), "kgrec_requests_total", method="GET", route=route, status="404")


def test_process_and_gc_collectors_are_exposed() -> None:
    text = render(Metrics())
    assert sample(text, "process_resident_memory_bytes") > 0
    assert sample(text, "python_gc_collections_total", generation="0") >= 0
    assert any(name == "python_info" for name, _ in samples(text))


def test_two_apps_in_one_process_count_apart() -> None:
    first, second = Metrics(), Metrics()  # a shared registry would refuse the second
    first.observe("GET", "/health", 200, 0.001)
    labels = {"method": "GET", "route": "/health", "status": "200"}
    assert sample(render(first), "kgrec_requests_total", **labels) == 1
    assert ("kgrec_requests_total", frozenset(labels.items())) not in samples(render(second))
    global_text = prometheus_client.generate_latest().decode()
    assert "kgrec_" not in global_text  # nothing in the library's process-wide registry


WORKER = """
import sys
from pathlib import Path
from kgrec.api.metrics import Metrics
metrics = Metrics(multiprocess_dir=Path(sys.argv[1]))
for _ in range(int(sys.argv[2])):
    metrics.observe("GET", "/recommendations", 200, 0.003)
sys.stdout.write(metrics.render({}, {"version": "v7"}).decode())
"""


def test_multiprocess_mode_sums_the_workers(tmp_path: Path) -> None:
    """Three worker processes share PROMETHEUS_MULTIPROC_DIR; any one's scrape sums them."""
    env = {**os.environ, MULTIPROC_ENV: str(tmp_path)}

    def worker(requests: int) -> str:
        done = subprocess.run(
            [sys.executable, "-c", WORKER, str(tmp_path), str(requests)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return done.stdout

    worker(2)
    worker(3)
    text = worker(1)
    ok = {"method": "GET", "route": "/recommendations", "status": "200"}
    assert sample(text, "kgrec_requests_total", **ok) == 6
    assert sample(text, "kgrec_request_seconds_count", route="/recommendations") == 6
    assert sample(text, "kgrec_artifact_info", version="v7") == 1
    assert not any(name.startswith("process_") for name, _ in samples(text))
