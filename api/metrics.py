"""Metrics: request counters and latency histograms in the Prometheus text format.

Written by hand (no client library): counters ``kgrec_requests_total{method,route,status}``,
histogram ``kgrec_request_seconds{route}``, and gauges the app passes at render time
(index size, artifact version as an info-style gauge).
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Mapping, Sequence
from typing import Final

DEFAULT_BUCKETS_S: Final = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(pairs: Mapping[str, str]) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs.items())
    return "{" + inner + "}" if inner else ""


class Metrics:
    """Thread-safe request metrics of one app.

    Args:
        buckets_s: upper bounds of the latency histogram buckets, seconds, ascending.
    """

    def __init__(self, buckets_s: Sequence[float] = DEFAULT_BUCKETS_S) -> None:
        self.buckets_s = tuple(buckets_s)
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, str], int] = {}
        self._hist: dict[str, list[int]] = {}
        self._sums: dict[str, float] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request and add its latency to the route's histogram."""
        with self._lock:
            key = (method, route, str(status))
            self._counts[key] = self._counts.get(key, 0) + 1
            counts = self._hist.setdefault(route, [0] * (len(self.buckets_s) + 1))
            counts[bisect.bisect_left(self.buckets_s, seconds)] += 1
            self._sums[route] = self._sums.get(route, 0.0) + seconds

    def render(self, gauges: Mapping[str, tuple[str, float]], info: Mapping[str, str]) -> str:
        """The exposition text.

        Args:
            gauges: metric name -> (help text, value).
            info: labels of ``kgrec_artifact_info`` (e.g. version), value 1.
        """
        lines: list[str] = []
        with self._lock:
            lines += [
                "# HELP kgrec_requests_total HTTP requests by method, route and status.",
                "# TYPE kgrec_requests_total counter",
            ]
            for (method, route, status), n in sorted(self._counts.items()):
                labels = _labels({"method": method, "route": route, "status": status})
                lines.append(f"kgrec_requests_total{labels} {n}")
            lines += [
                "# HELP kgrec_request_seconds HTTP request latency by route.",
                "# TYPE kgrec_request_seconds histogram",
            ]
            for route, counts in sorted(self._hist.items()):
                cumulative = 0
                for bound, n in zip((*self.buckets_s, float("inf")), counts, strict=True):
                    cumulative += n
                    le = "+Inf" if bound == float("inf") else repr(bound)
                    lines.append(
                        f"kgrec_request_seconds_bucket{_labels({'route': route, 'le': le})} "
                        f"{cumulative}"
                    )
                lines.append(
                    f"kgrec_request_seconds_sum{_labels({'route': route})} {self._sums[route]}"
                )
                lines.append(f"kgrec_request_seconds_count{_labels({'route': route})} {cumulative}")
        for name, (help_text, value) in sorted(gauges.items()):
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value}"]
        lines += [
            "# HELP kgrec_artifact_info The artifact version served (value 1).",
            "# TYPE kgrec_artifact_info gauge",
            f"kgrec_artifact_info{_labels(info)} 1",
        ]
        return "\n".join(lines) + "\n"
