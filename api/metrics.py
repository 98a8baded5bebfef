"""Metrics: request counters and latency histograms, exposed with ``prometheus-client``.

Series (names and labels unchanged from the hand-written exposition this replaced):
counter ``kgrec_requests_total{method,route,status}``, histogram
``kgrec_request_seconds{route}``, gauges the app passes at scrape time
(``kgrec_index_items``, ``kgrec_online_items``, ``kgrec_graph_up``) and the info
series ``kgrec_artifact_info{version}`` (value 1). The library adds the process
(``process_*``), platform (``python_info``) and garbage-collector (``python_gc_*``)
collectors, and ``*_created`` timestamps for the counter and histogram.

Each :class:`Metrics` owns its own ``CollectorRegistry`` (nothing is registered in
the library's process-wide default registry), so two apps in one process count apart.

Several worker processes (``uvicorn --workers N``, gunicorn) share their counts
through the library's multiprocess mode: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty
directory before the workers start, and each scrape answers the sum over the
workers (see docs/api.md, ``GET /metrics``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

DEFAULT_BUCKETS_S: Final = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
CONTENT_TYPE: Final = CONTENT_TYPE_PLAIN_0_0_4
"""Media type of :meth:`Metrics.render`: the Prometheus text format 0.0.4."""
MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"

__all__ = ["CONTENT_TYPE", "DEFAULT_BUCKETS_S", "MULTIPROC_ENV", "Metrics", "multiprocess_dir"]


def multiprocess_dir() -> Path | None:
    """The directory ``prometheus-client`` shares worker counts through, if set.

    Read by entry points (the app factory) and passed to :class:`Metrics`; the library
    itself reads the same variable when it is first imported.
    """
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


class _Scrape:
    """One scrape: the registry's series, then the values known only at scrape time."""

    def __init__(self, source: Collector, extra: Sequence[Metric]) -> None:
        self.source = source
        self.extra = extra

    def collect(self) -> Iterator[Metric]:
        yield from self.source.collect()
        yield from self.extra


class Metrics:
    """Request metrics of one app, in a registry of its own (thread-safe).

    Args:
        buckets_s: upper bounds of the latency histogram buckets, seconds, ascending
            (``+Inf`` is added).
        multiprocess_dir: ``PROMETHEUS_MULTIPROC_DIR`` when several worker processes
            serve one port: each scrape then sums the counters and histograms of every
            worker from that directory (the process and GC collectors, which describe
            one process only, are left out). None: this process's counts.
    """

    def __init__(
        self,
        buckets_s: Sequence[float] = DEFAULT_BUCKETS_S,
        multiprocess_dir: Path | None = None,
    ) -> None:
        self.buckets_s = tuple(buckets_s)
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "kgrec_requests",
            "HTTP requests by method, route and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self._latency = Histogram(
            "kgrec_request_seconds",
            "HTTP request latency by route.",
            ("route",),
            buckets=self.buckets_s,
            registry=self.registry,
        )
        self._source: Collector
        if multiprocess_dir is None:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
            self._source = self.registry
        else:
            merged = CollectorRegistry()
            # The library leaves MultiProcessCollector unannotated (prometheus-client 0.26).
            MultiProcessCollector(merged, path=str(multiprocess_dir))  # type: ignore[no-untyped-call]
            self._source = merged

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request and add its latency to the route's histogram."""
        self._requests.labels(method=method, route=route, status=str(status)).inc()
        self._latency.labels(route=route).observe(seconds)

    def render(self, gauges: Mapping[str, tuple[str, float]], info: Mapping[str, str]) -> bytes:
        """The exposition text (media type :data:`CONTENT_TYPE`).

        Args:
            gauges: metric name -> (help text, value), read at scrape time.
            info: labels of ``kgrec_artifact_info`` (e.g. version), value 1.
        """
        extra: list[Metric] = [
            GaugeMetricFamily(name, help_text, value=value)
            for name, (help_text, value) in sorted(gauges.items())
        ]
        extra.append(InfoMetricFamily("kgrec_artifact", "The artifact version served.", dict(info)))
        return generate_latest(_Scrape(self._source, extra))
