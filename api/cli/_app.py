"""The typer application every ``kgrec`` command registers on, and its shared helpers."""

from __future__ import annotations

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


def settings_of(ctx: typer.Context) -> Settings:
    """The Settings built by the root callback."""
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings
