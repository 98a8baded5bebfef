"""`kgrec serve --help` shows what a user needs to start the service."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kgrec.api.cli._app import app
from kgrec.errors import ConfigError


def test_serve_help_shows_key_host_port_and_artifacts() -> None:
    shown = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    for option in ("--api-key", "--host", "--port", "--artifacts", "--access-log"):
        assert option in shown.output, shown.output
    assert "KGREC_SERVING__API_KEY" in shown.output


def test_serve_refuses_an_artifacts_path_that_is_no_version(tmp_path: Path) -> None:
    env = {"KGREC_DATA_DIR": str(tmp_path)}
    shown = CliRunner().invoke(app, ["serve", "--artifacts", str(tmp_path / "v9")], env=env)
    assert isinstance(shown.exception, ConfigError), shown.output
    assert "not an artifact version" in str(shown.exception)
    assert "kgrec embed" in str(shown.exception)
