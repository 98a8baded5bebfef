"""`kgrec serve --help` shows what a user needs to start the service."""

from __future__ import annotations

from typer.testing import CliRunner

from api.cli._app import app


def test_serve_help_shows_key_host_port_and_artifacts() -> None:
    shown = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    for option in ("--api-key", "--host", "--port", "--artifacts", "--access-log"):
        assert option in shown.output, shown.output
    assert "KGREC_API_KEY" in shown.output
