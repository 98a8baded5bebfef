"""DataDir names every path under the data directory, and the modules use its names."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from kgrec.api.event_ids import EventIds
from kgrec.api.experiments.log import EventLog
from kgrec.gnn.snapshot import Snapshot
from kgrec.gnn.versions import VersionStore
from kgrec.graph._paths import ServerPaths
from kgrec.paths import DataDir
from kgrec.settings import Settings
from kgrec.text_encoders.cache import EmbeddingCache


def test_the_layout_is_the_documented_one(tmp_path: Path) -> None:
    d = DataDir(tmp_path)
    assert d.artifacts == tmp_path / "artifacts"
    assert d.snapshot("v1") == tmp_path / "snapshots" / "v1.pt"
    assert d.rejects_file("items", "product") == tmp_path / "rejects/items.product.rejects.csv"
    assert d.event_ids == tmp_path / "api" / "event-ids.sqlite3"
    assert d.experiment_log == tmp_path / "experiments" / "events.jsonl"
    assert d.text_cache == tmp_path / "text_cache" / "vectors.sqlite"
    assert Settings(data_dir=tmp_path).paths == d
    with_paths = [p for p in dir(d) if not p.startswith("_") and isinstance(getattr(d, p), Path)]
    named = {getattr(d, p) for p in with_paths if p != "root"}
    assert len(named) == len(with_paths) - 1  # no two names for one path
    assert all(p.is_relative_to(tmp_path) for p in named)
    assert dataclasses.is_dataclass(d) and not tmp_path.joinpath("artifacts").exists()


def test_the_modules_take_their_paths_from_it(tmp_path: Path) -> None:
    d = DataDir(tmp_path)
    assert VersionStore.in_data_dir(tmp_path).root == d.artifacts
    assert Snapshot.default_path(tmp_path, "v2") == d.snapshot("v2")
    assert EventLog.in_data_dir(tmp_path).path == d.experiment_log
    assert EventIds.in_data_dir(tmp_path).path == d.event_ids
    assert EmbeddingCache.in_data_dir(tmp_path).path == d.text_cache
    server = ServerPaths(tmp_path)
    assert (server.graph, server.server, server.logs) == (
        d.graph_server.resolve(),
        d.graph_server_state.resolve(),
        d.graph_server_logs.resolve(),
    )
