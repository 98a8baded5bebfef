"""``kgrec serve``: the HTTP API on uvicorn (embedded default graph, latest artifacts)."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli._app import app, settings_of


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Bind address (default KGREC_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default KGREC_API_PORT).")] = None,
) -> None:
    """Serve recommendations, search, items, events, explanations, health and metrics."""
    import uvicorn

    from api.app import create_app

    settings = settings_of(ctx)
    updates = {k: v for k, v in {"api_host": host, "api_port": port}.items() if v is not None}
    if updates:
        settings = settings.model_copy(update=updates)
    typer.echo(
        f"kgrec serve on http://{settings.api_host}:{settings.api_port} "
        f"(docs at /docs, data directory {settings.data_dir})"
    )
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level="info",
        access_log=False,
    )
