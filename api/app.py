"""create_app: the FastAPI application of ``kgrec serve``.

The lifespan builds the heavy resources once (graph connection, artifacts,
encoder, engine) through a services factory; routes reach them through
``Annotated`` dependencies. Every :class:`~kgrec.errors.KgrecError` becomes an
HTTP answer in one handler (:data:`STATUS_BY_ERROR`), request validation errors
become 422 with the offending fields named.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import Metrics
from api.routers import events, explain, health, items, recommendations, search
from api.schemas import ErrorOut
from api.wiring import ServicesFactory, default_services
from kgrec.errors import (
    AuthenticationError,
    ConfigError,
    GraphConnectionError,
    KgrecError,
    NotFoundError,
    ValidationError,
)
from kgrec.settings import Settings

log = logging.getLogger(__name__)

# Most specific first: the first class an error is an instance of decides.
STATUS_BY_ERROR: Final[tuple[tuple[type[KgrecError], int], ...]] = (
    (AuthenticationError, 401),
    (NotFoundError, 404),
    (ConfigError, 422),
    (ValidationError, 422),
    (GraphConnectionError, 503),
)


def status_of(error: KgrecError) -> int:
    """The HTTP status of a kgrec error (500 for one not in the table)."""
    for cls, status in STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status
    return 500


async def _kgrec_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KgrecError)
    status = status_of(exc)
    if status >= 500:
        log.warning("%s %s -> %d: %s", request.method, request.url.path, status, exc)
    headers = {"WWW-Authenticate": "X-API-Key"} if status == 401 else None
    return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    parts = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ())]
        if loc and loc[0] in ("query", "body", "path", "header", "cookie"):
            loc = loc[1:]  # where the field was sent, not its name
        parts.append(f"{'.'.join(loc) or 'request'}: {e.get('msg', 'invalid')}")
    detail = "; ".join(parts)
    return JSONResponse(
        {"detail": detail, "errors": [{"loc": e["loc"], "msg": e["msg"]} for e in errors]},
        status_code=422,
    )


class _MetricsMiddleware:
    """Pure ASGI middleware: counts requests and times them by route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], name, status, time.perf_counter() - start)


def create_app(settings: Settings, services: ServicesFactory | None = None) -> FastAPI:
    """Build the API.

    Args:
        settings: kgrec settings (keys, limits, weights, graph, data directory).
        services: builds the engine and graph for the app's lifetime; default
            :func:`api.wiring.default_services` (configured graph, latest artifacts).
    """
    factory = services or default_services
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with factory(settings) as built:
            built.metrics = metrics
            app.state.services = built
            yield

    error_responses: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorOut} for code in (401, 404, 422, 503)
    }
    app = FastAPI(
        title="kgrec",
        summary="Knowledge-graph recommendations, search and online cold start.",
        version="0.1.0",
        lifespan=lifespan,
        responses=error_responses,
    )
    for module in (recommendations, search, items, events, explain, health):
        app.include_router(module.build_router())
    app.add_exception_handler(KgrecError, _kgrec_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(_MetricsMiddleware, metrics=metrics)
    return app
