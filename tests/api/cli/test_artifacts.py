"""``kgrec artifacts list|promote|rollback|prune`` over versions on disk.

LATEST, the promotion history, pruning that spares LATEST and the rollback target,
clear errors.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from kgrec.api.cli import app
from kgrec.api.synthetic import synthetic_artifacts
from kgrec.errors import ArtifactError
from kgrec.gnn.artifacts import LATEST
from kgrec.gnn.checkpoint import Checkpoint
from kgrec.gnn.config import GNNConfig
from kgrec.gnn.latest_model import adopt_version_model
from kgrec.gnn.model import HeteroGNN
from kgrec.gnn.replace_journal import journal_path, new_token, stage
from kgrec.gnn.version_checksums import CHECKSUMS, checksums_with
from kgrec.gnn.versions import GATE, HISTORY, STALE_WRITING_S, VersionStore

WIDE = {"COLUMNS": "200"}


def kgrec(data_dir: Path, *args: str, keep: int = 5) -> Result:
    """``kgrec ARGS`` in-process on ``data_dir``."""
    env = {"KGREC_DATA_DIR": str(data_dir), "KGREC_ARTIFACTS__KEEP_VERSIONS": str(keep), **WIDE}
    return CliRunner().invoke(app, list(args), env=env)


def write_versions(data_dir: Path, names: list[str]) -> VersionStore:
    """Unpromoted versions ``names`` (created one second apart, in that order)."""
    store = VersionStore.in_data_dir(data_dir)
    for i, name in enumerate(names):
        artifacts = synthetic_artifacts(20, 5 + i, graph_dim=4, text_dim=4, clusters=2, seed=i)
        artifacts.manifest = replace(artifacts.manifest, version=name, created_at=1000.0 + i)
        artifacts.save(store.root, promote=False)
    return store


def test_promote_then_rollback_walks_the_history_back(tmp_path: Path) -> None:
    store = write_versions(tmp_path, ["a", "b", "c"])
    assert store.latest() is None
    for name in ("a", "b", "c"):
        result = kgrec(tmp_path, "artifacts", "promote", name)
        assert result.exit_code == 0, result.output
        assert (store.root / LATEST).read_text() == name
    assert "LATEST: b -> c" in result.output
    result = kgrec(tmp_path, "artifacts", "rollback")
    assert result.exit_code == 0, result.output
    assert "LATEST: c -> b (rolled back)" in result.output
    assert store.latest() == "b" and store.previous() == "a"
    assert kgrec(tmp_path, "artifacts", "rollback").exit_code == 0
    assert store.latest() == "a"
    history = json.loads((store.root / HISTORY).read_text())
    assert [(h["version"], h["action"]) for h in history] == [
        ("a", "promote"),
        ("b", "promote"),
        ("c", "promote"),
        ("b", "rollback"),
        ("a", "rollback"),
    ]
    result = kgrec(tmp_path, "artifacts", "rollback")
    assert isinstance(result.exception, ArtifactError)
    assert "nothing to roll back to" in str(result.exception)
    assert store.latest() == "a"


def test_list_marks_latest_previous_and_gate_figures(tmp_path: Path) -> None:
    store = write_versions(tmp_path, ["old", "new"])
    gate = {
        "serving_version": "old",
        "promote": True,
        "forced": False,
        "rows": [{"view": "validation", "serving": 0.25, "candidate": 0.3}],
    }
    (store.root / "new" / GATE).write_text(json.dumps(gate))
    store.promote("old", "test")
    store.promote("new", "test")
    result = kgrec(tmp_path, "artifacts", "list")
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    assert "LATEST (serving)" in lines["new"] and "previous" in lines["old"]
    assert "R@20 0.3000 vs 0.2500 (old): promoted" in lines["new"]
    assert lines["old"].split()[3:5] == ["20", "5"]  # products, users
    assert "2 version(s)" in result.output

    (store.root / "new" / GATE).write_text('{"promote": tr')  # cut short
    (store.root / "old" / "manifest.json").write_text('{"version": "old", ')
    result = kgrec(tmp_path, "artifacts", "list")
    assert result.exit_code == 0, result.output  # each listed with what is wrong with it
    assert "unreadable: cannot read" in result.output and "repair or remove" in result.output
    assert "2 version(s)" in result.output


def test_unknown_version_lists_those_that_exist(tmp_path: Path) -> None:
    write_versions(tmp_path, ["v1", "v2"])
    result = kgrec(tmp_path, "artifacts", "promote", "v9")
    assert isinstance(result.exception, ArtifactError)
    assert "unknown artifact version 'v9'" in str(result.exception)
    assert "versions: v1, v2" in str(result.exception)
    assert not (tmp_path / "artifacts" / LATEST).exists()
    empty = kgrec(tmp_path / "none", "artifacts", "promote", "v1")
    assert "versions: none (run `kgrec embed`)" in str(empty.exception)
    assert "no artifact versions" in kgrec(tmp_path / "none", "artifacts", "list").output


def test_prune_keeps_n_and_never_latest_nor_the_rollback_target(tmp_path: Path) -> None:
    names = [f"v{i}" for i in range(6)]
    store = write_versions(tmp_path, names)
    store.promote("v0", "test")  # six versions, five kept: v0 is LATEST, so v1 goes
    assert store.versions() == ["v0", "v2", "v3", "v4", "v5"]
    store.promote("v2", "test")
    result = kgrec(tmp_path, "artifacts", "prune", keep=2)
    assert result.exit_code == 0, result.output
    assert store.versions() == ["v0", "v2"], "LATEST (v2) and the rollback target (v0) stay"
    assert "pruned: v3, v4, v5" in result.output
    assert kgrec(tmp_path, "artifacts", "prune", keep=2).output.strip() == "nothing to prune"
    assert kgrec(tmp_path, "artifacts", "rollback").exit_code == 0
    assert store.latest() == "v0"


def test_prune_deletes_what_a_stopped_prune_or_embed_left(tmp_path: Path) -> None:
    store = write_versions(tmp_path, ["v0", "v1"])
    store.promote("v1", "test")
    half = store.root / ".deleting-v9"  # a prune stopped between its rename and the delete
    (half / "ranking").mkdir(parents=True)
    stale, fresh = store.root / ".writing-old", store.root / ".writing-now"
    for directory in (stale, fresh):
        directory.mkdir()
        (directory / "users.parquet").write_bytes(b"shopper ids")
    day_ago = time.time() - STALE_WRITING_S - 60
    os.utime(stale, (day_ago, day_ago))
    assert store.prune() == []
    assert not half.exists() and not stale.exists()
    assert fresh.exists(), "an embed may be writing it now"
    assert store.versions() == ["v0", "v1"]


def test_a_version_name_taken_gets_a_suffix_and_keep_below_two_is_refused(
    tmp_path: Path,
) -> None:
    store = write_versions(tmp_path, ["20250101-000000-abc"])
    assert store.new_name("20250101-000000-abc") == "20250101-000000-abc-2"
    assert store.new_name("other") == "other"
    with pytest.raises(ArtifactError, match="at least 2"):
        VersionStore(store.root, keep=1)


def _model_file(path: Path, name: str) -> Path:
    """A small real checkpoint whose snapshot version names it."""
    model = HeteroGNN(
        GNNConfig(hidden_dim=4),
        {"Product": 4, "User": 4},
        [("User", "INTERACTED", "Product"), ("Product", "rev_INTERACTED", "User")],
    )
    return Checkpoint(model, f"snapshot-{name}", "encoder", {}, []).save(path)


def _model_of(path: Path) -> str:
    return Checkpoint.load(path).snapshot_version.removeprefix("snapshot-")


def test_rollback_and_promote_make_the_versions_model_the_one_embed_uses(tmp_path: Path) -> None:
    """Else the next `kgrec embed` (latest.pt) would serve the rolled-back model again."""
    store = VersionStore.in_data_dir(tmp_path)
    checkpoints = tmp_path / "checkpoints"
    for i, name in enumerate(["a", "b"]):
        model = _model_file(tmp_path / f"{name}.pt", name)
        artifacts = synthetic_artifacts(20, 5, graph_dim=4, text_dim=4, clusters=2, seed=i)
        artifacts.manifest = replace(artifacts.manifest, version=name, created_at=1000.0 + i)
        artifacts.save(store.root, checkpoint=model, promote=False)
        assert kgrec(tmp_path, "artifacts", "promote", name).exit_code == 0
    assert _model_of(checkpoints / "latest.pt") == "b"

    result = kgrec(tmp_path, "artifacts", "rollback")
    assert result.exit_code == 0, result.output
    assert "is now a's model, which the next `kgrec embed` uses" in result.output
    assert _model_of(checkpoints / "latest.pt") == "a"
    assert kgrec(tmp_path, "artifacts", "promote", "b").exit_code == 0
    assert _model_of(checkpoints / "latest.pt") == "b"

    write_versions(tmp_path, ["c"])  # no checkpoint: latest.pt stays
    result = kgrec(tmp_path, "artifacts", "promote", "c")
    assert "c holds no checkpoint" in result.output
    assert _model_of(checkpoints / "latest.pt") == "b"


def test_the_adopted_model_comes_with_its_trained_ranker_only(tmp_path: Path) -> None:
    version, checkpoints = tmp_path / "v", tmp_path / "checkpoints"
    ranking = version / "ranking"
    ranking.mkdir(parents=True)
    _model_file(version / "checkpoint.pt", "v")
    for file in ("generators.json", "stages.json", "ranker.json", "ranker.txt"):
        (ranking / file).write_text(f"{file} of v")
    (ranking / "als.npz").write_bytes(b"a table refitted by kgrec embed")
    (checkpoints / "latest.ranking").mkdir(parents=True)
    (checkpoints / "latest.ranking" / "ranker.1.txt").write_text("the old model's")
    assert adopt_version_model(version, checkpoints) == checkpoints / "latest.pt"
    assert _model_of(checkpoints / "latest.pt") == "v"
    adopted = checkpoints / "latest.ranking"
    assert sorted(p.name for p in adopted.iterdir()) == [
        "generators.json",
        "ranker.json",
        "ranker.txt",
        "stages.json",
    ]  # as `kgrec train` leaves it: no refitted table, nothing of the old model's
    assert sorted(p.name for p in checkpoints.iterdir()) == [
        ".latest.lock",
        "latest.pt",
        "latest.ranking",
    ]


def test_a_history_entry_whose_latest_was_never_written_does_not_count(tmp_path: Path) -> None:
    """A process stopped between writing PROMOTIONS.json and LATEST: LATEST wins."""
    store = write_versions(tmp_path, ["a", "b", "c"])
    store.promote("a", "test")
    store.promote("b", "test")
    history = json.loads((store.root / HISTORY).read_text())
    torn = {**history[-1], "version": "c", "at": history[-1]["at"] + 1}
    (store.root / HISTORY).write_text(json.dumps([*history, torn]))  # LATEST still b
    assert store.latest() == "b" and store.previous() == "a"
    write_versions(tmp_path, ["d"])
    store.promote("d", "test")  # the stray entry must not come back with the next promote
    assert store.previous() == "b"
    assert store.rollback() == "b" and store.rollback() == "a"  # never c, which never served


def test_a_version_that_cannot_load_is_neither_promoted_nor_rolled_back_to(
    tmp_path: Path,
) -> None:
    store = write_versions(tmp_path, ["a", "b", "c"])
    for name in ("a", "b"):
        assert kgrec(tmp_path, "artifacts", "promote", name).exit_code == 0
    (store.path("c") / "product_graph.npy").write_bytes(b"cut short")
    result = kgrec(tmp_path, "artifacts", "promote", "c")
    assert result.exit_code == 1 and store.latest() == "b"
    assert "artifact version c cannot be served, so LATEST stays b" in str(result.exception)
    assert "product_graph.npy: SHA-256" in str(result.exception)  # its checksum
    # a file added after publication is not listed: its reader tells what is wrong
    (store.path("a") / "checkpoint.pt").write_bytes(b"not a checkpoint")
    result = kgrec(tmp_path, "artifacts", "rollback")
    assert result.exit_code == 1 and store.latest() == "b"
    assert "cannot read the checkpoint" in str(result.exception)


def test_verify_reports_each_version_and_fails_on_a_damaged_one(tmp_path: Path) -> None:
    store = write_versions(tmp_path, ["a", "b", "c"])
    result = kgrec(tmp_path, "artifacts", "verify")
    assert result.exit_code == 0, result.output
    assert result.output.count("ok (") == 3
    (store.path("b") / CHECKSUMS).unlink()
    (store.path("c") / "users.parquet").unlink()
    result = kgrec(tmp_path, "artifacts", "verify")
    assert result.exit_code == 1
    assert "no checksums (written before kgrec recorded them)" in result.output
    assert "DAMAGED: users.parquet: missing" in result.output
    assert "1 damaged version(s)" in result.output
    assert kgrec(tmp_path, "artifacts", "verify", "a").exit_code == 0
    result = kgrec(tmp_path, "artifacts", "verify", "zz")
    assert isinstance(result.exception, ArtifactError) and "versions: a, b, c" in str(
        result.exception
    )


def test_verify_finishes_a_forget_stopped_while_moving_files_in(tmp_path: Path) -> None:
    """A journal naming staged files: verify moves them in, then finds the version whole."""
    store = write_versions(tmp_path, ["a"])
    version = store.path("a")
    users = version / "users.parquet"
    token = new_token()
    kept = pd.read_parquet(users).iloc[1:]
    staged = stage(users, lambda f: kept.to_parquet(f), token)
    sums = checksums_with(version, {"users.parquet": staged})
    assert sums is not None
    staged_sums = stage(version / CHECKSUMS, lambda f: f.write(sums), token)
    entries = [[p.name, t] for p, t in ((staged_sums, CHECKSUMS), (staged, "users.parquet"))]
    journal = journal_path(version, token)
    journal.write_text(json.dumps({"replace": entries}))
    staged_sums.replace(version / CHECKSUMS)  # stopped after the first of its two moves
    result = kgrec(tmp_path, "artifacts", "verify")
    assert result.exit_code == 0, result.output
    assert "a: finished a forget stopped part-way (moved in 1 file(s))" in result.output
    assert "ok (" in result.output and not journal.exists()
    assert pd.read_parquet(users)["id"].tolist() == kept["id"].tolist()
