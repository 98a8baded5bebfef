"""The typer application every ``kgrec`` command registers on, and its shared helpers."""

from __future__ import annotations

import inspect

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
graph_app = typer.Typer(help="Run the embedded graph server (when KGREC_NEO4J_URI is unset).")
app.add_typer(graph_app, name="graph")


@app.callback()
def _root(ctx: typer.Context) -> None:
    """Build the one Settings object of this invocation from KGREC_* variables."""
    try:
        ctx.obj = Settings()
    except pydantic.ValidationError as e:
        raise ConfigError(f"invalid KGREC_* setting: {e}") from e


def reflow(text: str) -> str:
    """Help text with each paragraph on one line, so rich wraps it to the terminal.

    Typer's rich help keeps the line breaks of a docstring's later paragraphs,
    which cuts lines short at 80 columns. Paragraphs are separated by a blank
    line; one that starts with ``\\b`` keeps its lines (click's no-rewrap mark).
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
