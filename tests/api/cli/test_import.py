"""``kgrec import`` exit codes, and an import killed with SIGKILL then run again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kgrec.api.cli import app
from kgrec.graph import GraphStore
from kgrec.loaders import CatalogueGenerator
from kgrec.settings import Settings
from tests.utils.loaders import run, write


def cli(settings: Settings, *args: str) -> tuple[int, str]:
    env = {"KGREC_DATA_DIR": str(settings.data_dir), "KGREC_GRAPH__EMBEDDED_HEAP_MB": "512"}
    result = CliRunner().invoke(app, [*args, "--no-progress"], env=env)
    return result.exit_code, result.output


def test_exit_codes(store: GraphStore, settings: Settings, tmp_path: Path) -> None:
    good = write(tmp_path, "good.csv", "id,title\np1,Fine")
    bad = write(tmp_path, "bad.csv", "id,title,price\np2,Cheap,-1\np3,Fine,2")
    rejects = tmp_path / "rejects.csv"

    code, out = cli(settings, "import", "--products", str(bad), "--strict")
    assert code == 3 and "nothing was written" in out
    assert store.count_nodes()["Product"] == 0

    code, out = cli(settings, "import", "--products", str(bad), "--dry-run")
    assert code == 3 and "dry run" in out
    assert store.count_nodes()["Product"] == 0

    code, out = cli(settings, "import", "--products", str(bad), "--rejects", str(rejects))
    assert code == 3
    assert "products: 2 rows, 1 created, 0 updated, 0 unchanged, 1 rejected" in out
    assert "negative price" in rejects.read_text(encoding="utf-8")

    code, out = cli(settings, "import", "--products", str(good))
    assert code == 0, out
    assert store.count_nodes()["Product"] == 2

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    code, out = cli(settings, "import", "--users", str(empty))
    assert code == 0 and "empty file" in out


@pytest.mark.slow
def test_sigkill_half_way_then_rerun_gives_the_uninterrupted_counts(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    files = CatalogueGenerator(products=3000, users=300, interactions=6000, seed=7).write(
        tmp_path / "files"
    )
    assert run(store, settings, files).exit_code == 0  # type: ignore[arg-type]
    expected = (store.count_nodes(), store.count_relationships())
    store.delete_all()

    env = {k: v for k, v in os.environ.items() if not k.startswith("KGREC_")}
    env |= {
        "KGREC_DATA_DIR": str(settings.data_dir),
        "KGREC_GRAPH__EMBEDDED_HEAP_MB": "512",
        "KGREC_GRAPH__WRITE_BATCH_SIZE": "100",
    }
    args = [
        sys.executable,
        "-c",
        "from kgrec.api.cli import main; main()",
        "import",
        "--no-progress",
    ]
    for entity, path in files.items():
        args += [f"--{entity}", str(path)]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while store.count_nodes()["Product"] < 500 and time.monotonic() < deadline:
            assert proc.poll() is None, "the import ended before it could be killed"
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    partial = store.count_nodes()["Product"]
    assert 0 < partial < 3000 or store.count_relationships()["INTERACTED"] < 6000

    rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert (store.count_nodes(), store.count_relationships()) == expected
