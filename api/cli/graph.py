"""``kgrec graph start|status|stop|reset`` and ``kgrec cypher``."""

from __future__ import annotations

import json
from typing import Annotated

import pandas as pd
import typer

from kgrec.api.cli._app import app, graph_app, settings_of
from kgrec.errors import ConfigError
from kgrec.graph import EmbeddedServer, embedded_server, open_graph


def _embedded(ctx: typer.Context) -> EmbeddedServer:
    settings = settings_of(ctx)
    if not settings.embedded:
        raise ConfigError(
            f"KGREC_GRAPH__NEO4J_URI is set ({settings.graph.neo4j_uri}): kgrec uses that server "
            "and "
            "runs no embedded one; unset it to manage the embedded server"
        )
    return embedded_server(settings.graph, settings.data_dir)


@graph_app.command("start")
def start(ctx: typer.Context) -> None:
    """Start the embedded graph server in the background (it stays up)."""
    server = _embedded(ctx)
    before = server.status()
    status = before if before.running else server.start(detach=True)
    if before.recovered_stale:
        typer.echo("recovered a stale state file left by a killed server")
    verb = "already running" if before.running else "started"
    typer.echo(f"graph server {verb}: {status.uri} database={status.database} pid={status.pid}")
    typer.echo(f"data directory: {status.data_dir}")


@graph_app.command("status")
def status(ctx: typer.Context) -> None:
    """Report whether the embedded graph server runs, and where."""
    st = _embedded(ctx).status()
    if st.recovered_stale:
        typer.echo("recovered a stale state file left by a killed server")
    if st.running:
        typer.echo(
            f"running: {st.uri} database={st.database} pid={st.pid} "
            f"http_port={st.http_port} detached={st.detached}"
        )
    else:
        typer.echo(
            f"stopped (data directory {st.data_dir}); `kgrec graph start` starts it in the "
            "background, and every other command starts it for its own run"
        )
        raise typer.Exit(3)


@graph_app.command("stop")
def stop(ctx: typer.Context) -> None:
    """Stop the embedded graph server cleanly."""
    stopped = _embedded(ctx).stop()
    typer.echo("graph server stopped" if stopped else "graph server was not running")


@graph_app.command("reset")
def reset(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm deleting every node.")] = False,
) -> None:
    """Delete every node and relationship in the graph database."""
    if not yes:
        raise ConfigError("`kgrec graph reset` deletes the whole graph; pass --yes to confirm")
    settings = settings_of(ctx)
    with open_graph(settings.graph, settings.data_dir) as store:
        deleted = store.delete_all()
    typer.echo(f"graph emptied: {deleted:,} nodes deleted")


@app.command("cypher")
def cypher(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="A read-only Cypher query.")],
    params: Annotated[
        str, typer.Option("--params", "-p", help="Query parameters as a JSON object.")
    ] = "{}",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records.")] = False,
    max_rows: Annotated[
        int,
        typer.Option(
            min=1, help="Rows read at most; a longer result is cut, and says so (add LIMIT)."
        ),
    ] = 10_000,
) -> None:
    """Run a read-only Cypher query and print the result as a table.

    Write clauses are rejected before anything is sent (exit status 4).
    """
    try:
        parameters = json.loads(params)
    except json.JSONDecodeError as e:
        raise ConfigError(f"--params is not valid JSON: {e}") from e
    if not isinstance(parameters, dict):
        raise ConfigError('--params must be a JSON object, e.g. \'{"id": "p1"}\'')
    settings = settings_of(ctx)
    with open_graph(settings.graph, settings.data_dir, create_schema=False) as store:
        frame = store.cypher(query, parameters, max_rows=max_rows)
    cut = len(frame) > max_rows
    frame = frame.head(max_rows)
    if as_json:
        typer.echo(frame.to_json(orient="records", force_ascii=False, default_handler=str))
    else:
        with pd.option_context("display.max_rows", 200, "display.width", 160):
            typer.echo(frame.to_string(index=False) if len(frame) else "(no rows)")
    if cut:
        typer.echo(
            f"{len(frame):,} row(s) shown: the result has more (add LIMIT, or raise --max-rows)",
            err=True,
        )
    else:
        typer.echo(f"{len(frame)} row(s)", err=True)
