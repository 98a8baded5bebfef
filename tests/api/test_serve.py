"""The default wiring of `kgrec serve` (latest artifacts, configured graph, encoder), over HTTP."""

from __future__ import annotations

import re
from pathlib import Path

from kgrec.api.demo_calls import run_demo_calls
from kgrec.api.wiring import artifacts_root
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.graph import GraphStore
from kgrec.settings import Settings


def test_demo_calls_start_the_service_and_call_each_endpoint(
    settings: Settings, sample_store: GraphStore, sample_artifacts: ArtifactSet
) -> None:
    root = artifacts_root(settings)
    if not (root / sample_artifacts.manifest.version).exists():
        sample_artifacts.save(root)
    lines: list[str] = []
    run_demo_calls(settings, echo=lines.append)
    text = "\n".join(lines)
    statuses = re.findall(r"^HTTP (\d+)$", text, flags=re.MULTILINE)
    assert statuses == ["200", "200", "200", "200", "201", "201", "200", "200", "200"], text
    for path in (
        "/health",
        "/recommendations",
        "/search",
        "/similar",
        "/items",
        "/events",
        "/explain",
        "/metrics",
    ):
        assert path in text
    assert '"strategy": "user"' in text  # the visitor's events made them a known user
    assert sample_store.existing_ids("Product", ["demo-new-1"]) == {"demo-new-1"}


def test_demo_calls_skip_without_artifacts(tmp_path: Path) -> None:
    lines: list[str] = []
    run_demo_calls(Settings(data_dir=tmp_path), echo=lines.append)
    assert "serve step skipped" in lines[0] and "kgrec embed" in lines[0]
