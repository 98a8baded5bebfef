"""The common mistakes say what to run next.

No artifacts yet, a busy port, a bad file path, a graph server that is not running.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from kgrec.api.cli import app
from kgrec.errors import ArtifactError, ConfigError, GraphConnectionError

WIDE = {"COLUMNS": "200"}  # one line per message, whatever the terminal


def invoke(data_dir: Path, *args: str, **env: str) -> Result:
    """``kgrec ARGS`` in-process, on ``data_dir``, with ``KGREC_*`` in ``env``."""
    return CliRunner().invoke(app, list(args), env={"KGREC_DATA_DIR": str(data_dir), **WIDE, **env})


def test_embed_with_a_checkpoint_that_is_not_there_names_it(tmp_path: Path) -> None:
    result = invoke(tmp_path, "embed", "--checkpoint", str(tmp_path / "nowhere.pt"))
    assert result.exit_code == 2
    assert "--checkpoint" in result.output and "nowhere.pt" in result.output
    assert "does not exist" in result.output


def test_serve_without_artifacts_says_to_train_and_embed(tmp_path: Path) -> None:
    result = invoke(tmp_path, "serve")
    assert isinstance(result.exception, ArtifactError), result.output
    message = str(result.exception)
    assert message.startswith(f"no artifacts yet: {tmp_path / 'artifacts'} holds no LATEST")
    for step in ("kgrec import --dataset ml-100k", "kgrec train", "kgrec embed", "make demo"):
        assert step in message
    assert not (tmp_path / "graph").exists(), "refused before starting the graph server"


def test_serve_without_artifacts_prints_one_error_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KGREC_")}
    shown = subprocess.run(
        [sys.executable, "-c", "from kgrec.api.cli import main; main()", "serve"],
        env={**env, "KGREC_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert shown.returncode == 1
    assert shown.stderr.startswith("error: no artifacts yet: "), shown.stderr
    assert "Traceback" not in shown.stderr


def test_serve_on_a_busy_port_says_how_to_pick_another(tmp_path: Path, busy_port: int) -> None:
    result = invoke(tmp_path, "serve", "--port", str(busy_port))
    assert isinstance(result.exception, ConfigError), result.output
    message = str(result.exception)
    assert message.startswith(f"port {busy_port} on 127.0.0.1 is in use"), message
    assert f"kgrec serve --port {busy_port + 1}" in message and "KGREC_SERVING__API_PORT" in message


@pytest.mark.parametrize(
    ("option", "hint"),
    [
        ("--products", "kgrec generate --out DIR"),
        ("--interactions", "kgrec generate --out DIR"),
        ("--kg", "kgrec generate --out DIR"),
        ("--mapping", "the format is at the end of `kgrec import --help`"),
    ],
)
def test_import_of_a_missing_file_names_it_and_what_to_do(
    tmp_path: Path, option: str, hint: str
) -> None:
    result = invoke(tmp_path, "import", option, "no-such-file.csv")
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.replace("│", " ").split())
    assert f"Invalid value for '{option}': no file 'no-such-file.csv'" in flat, flat
    assert f"relative paths start at {Path.cwd()}" in flat and hint in flat, flat


def test_import_of_a_directory_asks_for_the_file_inside(tmp_path: Path) -> None:
    result = invoke(tmp_path, "import", "--products", str(tmp_path))
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.replace("│", " ").split())
    assert f"'{tmp_path}' is a directory; give a CSV" in flat, flat
    assert str(tmp_path / "products.csv") in flat


def test_import_of_a_missing_recbole_directory_points_at_the_dataset(tmp_path: Path) -> None:
    result = invoke(tmp_path, "import", "--recbole", "no-such-dir", "--preset", "ml-100k")
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.replace("│", " ").split())
    assert "'no-such-dir' does not exist" in flat and "--dataset ml-100k" in flat, flat


def test_a_neo4j_that_does_not_answer_says_what_to_check(tmp_path: Path) -> None:
    with socket.socket() as s:  # a free port: nothing listens there
        s.bind(("127.0.0.1", 0))
        free = int(s.getsockname()[1])
    uri = f"bolt://127.0.0.1:{free}"
    result = invoke(
        tmp_path,
        "cypher",
        "RETURN 1",
        KGREC_GRAPH__NEO4J_URI=uri,
        KGREC_GRAPH__NEO4J_PASSWORD="x",
        KGREC_GRAPH__CONNECT_RETRIES="0",
    )
    assert isinstance(result.exception, GraphConnectionError), result.output
    message = str(result.exception)
    assert message.startswith(f"no graph server answers at {uri} after 1 attempts"), message
    # a configured Neo4j is not something `kgrec graph start` starts
    assert "`kgrec graph start`" not in message and "KGREC_GRAPH__NEO4J_URI is right" in message


def test_graph_status_of_a_stopped_server_says_how_to_start_it(tmp_path: Path) -> None:
    result = invoke(tmp_path, "graph", "status")
    assert result.exit_code == 3, result.output
    assert result.output.startswith("stopped (data directory ")
    assert "`kgrec graph start`" in result.output
