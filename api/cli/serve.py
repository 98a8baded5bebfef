"""``kgrec serve``: the HTTP API on uvicorn (embedded default graph, latest artifacts)."""

from __future__ import annotations

import functools
import logging
import socket
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import SecretStr

from kgrec.api.cli._app import app, settings_of
from kgrec.errors import ArtifactError, ConfigError


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Bind address (default KGREC_SERVING__API_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default KGREC_SERVING__API_PORT, 8000).")
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            help="Write key that POST/PUT /items and POST /events require in X-API-Key "
            "(default KGREC_SERVING__API_KEY; with none, writes answer 401). A key given here "
            "shows "
            "in the process list: prefer the variable.",
            show_default=False,
        ),
    ] = None,
    artifacts: Annotated[
        Path | None,
        typer.Option(
            help="Artifact version to serve: a directory written by `kgrec embed`, or a "
            "version name under <data_dir>/artifacts (default: the latest).",
        ),
    ] = None,
    access_log: Annotated[
        bool | None,
        typer.Option(
            "--access-log/--no-access-log",
            help="One log line per request: method, route, status, ms "
            "(default KGREC_SERVING__API_ACCESS_LOG, on).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve recommendations, search, items, events, explanations, health and metrics.

    Reads are open (KGREC_SERVING__API_READ_REQUIRES_KEY=true closes them); writes need the
    API key. OpenAPI docs at /docs.
    """
    import uvicorn

    from kgrec.api.app import create_app
    from kgrec.api.wiring import artifacts_root, default_services

    settings = settings_of(ctx)
    updates: dict[str, Any] = {
        k: v
        for k, v in {"api_host": host, "api_port": port, "api_access_log": access_log}.items()
        if v is not None
    }
    if api_key is not None:
        if not api_key.strip():
            raise ConfigError("--api-key must not be empty")
        updates["api_key"] = SecretStr(api_key)
    if updates:
        settings = settings.updated(serving=updates)
    _check_port(settings.serving.api_host, settings.serving.api_port)
    root = artifacts_root(settings)
    version_dir = _artifact_dir(artifacts, root) if artifacts else None
    if version_dir is None:
        _check_latest(root)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s", force=True
    )
    writes = (
        "on (X-API-Key)"
        if settings.serving.api_key is not None
        else "OFF: no KGREC_SERVING__API_KEY"
    )
    typer.echo(
        f"kgrec serve on http://{settings.serving.api_host}:{settings.serving.api_port} "
        f"(docs at /docs, data directory {settings.data_dir}, writes {writes})"
    )
    uvicorn.run(
        create_app(settings, functools.partial(default_services, artifacts_dir=version_dir)),
        host=settings.serving.api_host,
        port=settings.serving.api_port,
        log_level="info",
        access_log=False,  # the app writes its own line, with the route template
    )


def _artifact_dir(given: Path, root: Path) -> Path:
    """``--artifacts`` as a version directory (a path, or a name under ``root``)."""
    from kgrec.gnn.artifacts import MANIFEST

    for candidate in (given, root / given):
        if (candidate / MANIFEST).is_file():
            return candidate
    raise ConfigError(
        f"--artifacts {given}: not an artifact version (no {MANIFEST} there nor under "
        f"{root}); give a directory written by `kgrec embed`"
    )


def port_in_use(host: str, port: int) -> str | None:
    """Why ``kgrec serve`` could not listen on ``host:port`` now; None when it could.

    Probed with ``SO_REUSEADDR``, as uvicorn binds: connections lingering in
    TIME_WAIT do not make the port busy, a listener does. Port 0 (any free port)
    and a host that does not resolve are left to uvicorn.
    """
    if port == 0:
        return None
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (OSError, IndexError):
        return None
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as e:
            return e.strerror or str(e)
    return None


def _check_port(host: str, port: int) -> None:
    """Refuse a port another process listens on before loading anything (seconds saved)."""
    busy = port_in_use(host, port)
    if busy is not None:
        raise ConfigError(
            f"port {port} on {host} is in use ({busy}): another `kgrec serve` or program "
            f"listens there; stop it, or serve on another port: `kgrec serve --port "
            f"{port + 1 if port < 65535 else 8000}` (or KGREC_SERVING__API_PORT)"
        )


def _check_latest(root: Path) -> None:
    """Refuse to start without an artifact version, saying how to make one."""
    from kgrec.gnn.artifacts import LATEST

    if not (root / LATEST).is_file():
        raise ArtifactError(
            f"no artifacts yet: {root} holds no {LATEST} version to serve; import a "
            "catalogue, then train and embed: `kgrec import --dataset ml-100k` (or your "
            "files), `kgrec train`, `kgrec embed` (`make demo` does all three on MovieLens-100K)"
        )
