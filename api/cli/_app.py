"""The typer application every ``kgrec`` command registers on, and its shared helpers."""

from __future__ import annotations

import inspect
import logging
import sys
from typing import Final, TextIO

import pydantic
import typer

from kgrec.errors import ConfigError
from kgrec.settings import Settings

app = typer.Typer(
    name="kgrec",
    help="Knowledge-graph recommendation engine: import, explore, train, serve.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
graph_app = typer.Typer(
    help="Run the embedded graph server (when KGREC_GRAPH__NEO4J_URI is unset)."
)
app.add_typer(graph_app, name="graph")


LOGGED_PACKAGES: Final = ("api", "gnn", "graph", "kgrec", "loaders", "text_encoders")
"""kgrec's top-level packages, whose INFO records a command shows (see :func:`show_logs`)."""


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record (test runners swap it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


def show_logs() -> None:
    """Show kgrec's INFO summaries (encoded texts, snapshot sizes, ...) on stderr.

    Library code logs and never prints; a command line is where a person reads
    those summaries. Warnings show from every logger, INFO only from kgrec's own
    packages (third-party INFO lines such as faiss's loader stay quiet). Installed
    only when the root logger has no handler yet (a test runner's or an
    application's configuration wins; ``kgrec serve`` replaces it with its own).
    """
    root = logging.getLogger()
    if root.handlers:
        return
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(_shown)
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def _shown(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or record.name.split(".")[0] in LOGGED_PACKAGES


@app.callback()
def _root(ctx: typer.Context) -> None:
    """Build the one Settings object of this invocation from KGREC_* variables."""
    show_logs()
    try:
        ctx.obj = Settings()
    except pydantic.ValidationError as e:
        raise ConfigError(f"invalid KGREC_* setting: {e}") from e


def reflow(text: str) -> str:
    r"""Help text with each paragraph on one line, so rich wraps it to the terminal.

    Typer's rich help keeps the line breaks of a docstring's later paragraphs,
    which cuts lines short at 80 columns. Paragraphs are separated by a blank
    line; one that starts with ``\b`` keeps its lines (click's no-rewrap mark).
    """
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split()) for p in paragraphs)


def reflow_help(typer_app: typer.Typer) -> None:
    """Reflow the help of every command of ``typer_app`` and its sub-apps (see :func:`reflow`).

    Call once all commands are registered, before the app runs.
    """
    for command in typer_app.registered_commands:
        text = command.help if command.help is not None else inspect.getdoc(command.callback)
        if text:
            command.help = reflow(text)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            reflow_help(group.typer_instance)


def settings_of(ctx: typer.Context) -> Settings:
    """The Settings built by the root callback."""
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings
