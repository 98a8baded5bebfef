"""The ``kgrec`` command line. Each module registers its commands on :data:`app`."""

from __future__ import annotations

import sys

import typer

from kgrec.api.cli import artifacts as _artifacts  # noqa: F401  (registers commands)
from kgrec.api.cli import demo as _demo  # noqa: F401
from kgrec.api.cli import encode as _encode  # noqa: F401
from kgrec.api.cli import evaluate as _evaluate  # noqa: F401
from kgrec.api.cli import experiments as _experiments  # noqa: F401
from kgrec.api.cli import graph as _graph  # noqa: F401
from kgrec.api.cli import importing as _importing  # noqa: F401
from kgrec.api.cli import serve as _serve  # noqa: F401
from kgrec.api.cli import train as _train  # noqa: F401
from kgrec.api.cli import users as _users  # noqa: F401
from kgrec.api.cli._app import app, reflow_help
from kgrec.errors import KgrecError, WriteQueryRejectedError

EXIT_ERROR = 1
EXIT_WRITE_REJECTED = 4

__all__ = ["app", "main"]

reflow_help(app)


def main() -> None:
    """Console entry point: run the app, turning kgrec errors into one clear line.

    Usage errors, ``--help`` and exit codes are handled by click (standalone mode).
    """
    try:
        app()
    except KgrecError as e:
        typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
        sys.exit(EXIT_WRITE_REJECTED if isinstance(e, WriteQueryRejectedError) else EXIT_ERROR)
