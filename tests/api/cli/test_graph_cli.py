"""`kgrec graph start|status|stop` and `kgrec cypher`, run as a user would (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.neo4j


def kgrec(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KGREC_")}
    env |= {"KGREC_DATA_DIR": str(data_dir), "KGREC_GRAPH__EMBEDDED_HEAP_MB": "512"}
    return subprocess.run(
        [sys.executable, "-c", "from kgrec.api.cli import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "data"
    started = kgrec(data, "graph", "start")
    assert started.returncode == 0, started.stderr
    assert "started: bolt://127.0.0.1:" in started.stdout
    yield data
    kgrec(data, "graph", "stop")


def test_start_status_stop(running: Path) -> None:
    status = kgrec(running, "graph", "status")
    assert status.returncode == 0 and status.stdout.startswith("running: bolt://127.0.0.1:")
    again = kgrec(running, "graph", "start")
    assert "already running" in again.stdout
    stopped = kgrec(running, "graph", "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    after = kgrec(running, "graph", "status")
    assert after.returncode == 3 and after.stdout.startswith("stopped")


def test_cypher_prints_a_table_and_rejects_writes(running: Path) -> None:
    seeded = kgrec(running, "demo", "--sample")
    assert seeded.returncode == 0, seeded.stderr
    table = kgrec(running, "cypher", "MATCH (b:Brand) RETURN b.id AS id ORDER BY id LIMIT 2")
    assert table.returncode == 0, table.stderr
    assert table.stdout.split() == ["id", "aero", "brewmaster"]
    count = "MATCH (n) RETURN count(n) AS n"
    before = kgrec(running, "cypher", count).stdout
    write = kgrec(running, "cypher", "MATCH (n) DETACH DELETE n")
    assert write.returncode == 4
    assert "read-only" in write.stderr and "DELETE" in write.stderr
    assert kgrec(running, "cypher", count).stdout == before
    for attack in (
        "WITH '/*' AS a MATCH (n) DETACH DELETE n WITH a, '*/' AS b RETURN a, b",
        "WITH 1 AS `it's` CREATE (h:Hack {id:'h12'}) WITH `it's` AS x RETURN x",
        "SHOW USERS",
    ):
        refused = kgrec(running, "cypher", attack)
        assert refused.returncode == 4, (attack, refused.stdout, refused.stderr)
    assert kgrec(running, "cypher", count).stdout == before
    cut = kgrec(running, "cypher", "--max-rows", "2", "MATCH (b:Brand) RETURN b.id AS id")
    assert cut.returncode == 0, cut.stderr
    assert len(cut.stdout.split()) == 3  # the header and two rows
    assert "2 row(s) shown: the result has more" in cut.stderr
    sql = kgrec(running, "cypher", "RETURN sql.eval('(DELETE FROM Brand) IS NOT NULL') AS d")
    assert sql.returncode == 4 and "sql.eval()" in sql.stderr
    assert kgrec(running, "cypher", count).stdout == before
    rels = kgrec(running, "cypher", "--json", "MATCH (:User)-[i:INTERACTED]->() RETURN i LIMIT 2")
    assert rels.returncode == 0, rels.stderr
    first = json.loads(rels.stdout)[0]["i"]
    assert first["type"] == "INTERACTED" and first["start"] and first["end"]
    assert first["properties"]["kind"]


def test_unknown_setting_is_rejected(tmp_path: Path) -> None:
    env_run = kgrec(tmp_path, "graph", "status")
    assert env_run.returncode == 3
    proc = subprocess.run(
        [sys.executable, "-c", "from kgrec.api.cli import main; main()", "graph", "status"],
        env={**os.environ, "KGREC_DATA_DRI": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "KGREC_DATA_DRI" in proc.stderr and "KGREC_DATA_DIR" in proc.stderr
