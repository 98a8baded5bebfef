"""create_app: the FastAPI application of ``kgrec serve``.

The lifespan builds the heavy resources once (graph connection, artifacts,
encoder, engine) through a services factory; routes reach them through
``Annotated`` dependencies. Every :class:`~kgrec.errors.KgrecError` becomes an
HTTP answer in one handler (:data:`STATUS_BY_ERROR`), request validation errors
become 422 with the offending fields named (a body that is not UTF-8 or not JSON
too, with the line and column of the fault), a 503 carries ``Retry-After``
(:func:`retry_after_s`), and an unexpected exception becomes
a logged JSON 500 that leaves the connection usable. One access-log line per
request (``kgrec.api.access`` logger, INFO) unless ``KGREC_SERVING__API_ACCESS_LOG=false``.
"""

from __future__ import annotations

import importlib.metadata
import logging
import math
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final

import faiss
import torch
from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from threadpoolctl import threadpool_limits

from kgrec.api.event_ids import EventIds
from kgrec.api.metrics import Metrics, multiprocess_dir
from kgrec.api.query_params import known_query_params
from kgrec.api.routers.main import api_router
from kgrec.api.schemas import ErrorOut
from kgrec.api.ui import mount_ui
from kgrec.api.wiring import ServicesFactory, default_services, experiments_of
from kgrec.errors import (
    AuthenticationError,
    ConfigError,
    DataValidationError,
    GraphConnectionError,
    KgrecError,
    NotFoundError,
)
from kgrec.gnn.baselines.base import serving_blas_threads
from kgrec.pseudonym import Pseudonymiser
from kgrec.settings import Settings

log = logging.getLogger(__name__)
access_log = logging.getLogger("kgrec.api.access")

# Most specific first: the first class an error is an instance of decides.
STATUS_BY_ERROR: Final[tuple[tuple[type[KgrecError], int], ...]] = (
    (AuthenticationError, 401),
    (NotFoundError, 404),
    (ConfigError, 422),
    (DataValidationError, 422),
    (GraphConnectionError, 503),
)
# Longest field-name part and message an error answer repeats: a client's input
# (an unknown 60 KB key, say) is never echoed whole.
_MAX_LOC_PART: Final = 64
_MAX_MSG: Final = 500
_MAX_ERRORS: Final = 50  # listed in one answer; the rest are counted
INTERNAL_ERROR: Final = (
    "internal error: the server failed on an unexpected error and logged it; "
    "retry, and report it if it persists"
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
    if status >= 500:  # the route template: a path may hold a shopper's id
        route = getattr(request.scope.get("route"), "path", None) or "unmatched"
        log.warning("%s %s -> %d: %s", request.method, route, status, exc)
    headers: dict[str, str] | None = None
    if status == 401:
        headers = {"WWW-Authenticate": "X-API-Key"}
    elif status == 503:
        headers = {"Retry-After": str(request.app.state.retry_after_s)}
    return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)


def retry_after_s(settings: Settings) -> int:
    """Seconds a 503 asks the client to wait (``Retry-After``).

    The graph check interval rounded up, at least 1: the graph is checked again by
    then.
    """
    return max(1, math.ceil(settings.serving.graph_check_interval_s))


def use_search_threads(
    threads: int, device: str, blas_threads: int = 0, products: int = 0
) -> threadpool_limits:
    """Set the serving process's thread counts (once, at start-up).

    One request is small work: ``threads`` (``KGREC_SERVING__SEARCH_THREADS``)
    avoids OpenMP spin contention. torch's intra-op pool is process-wide and set
    on cpu only; faiss's OpenMP count is per calling thread, so
    :meth:`kgrec.api.index.VectorIndex.search` sets it again in each request thread.

    numpy's BLAS pool (the learned ranking's text-kNN and factor scores,
    :func:`kgrec.gnn.baselines.base.row_scores`) gets ``blas_threads``; 0 picks by
    the catalogue's ``products`` (:func:`~kgrec.gnn.baselines.base.serving_blas_threads`,
    as ``kgrec evaluate`` scores). From 20,000 products it keeps the
    library's default, every core: bounded to one thread, the 100k-product
    learned answer measured 40.4 / 55.1 ms p50 / p99 against 31.6 / 44.7 ms.
    Below, one thread: OpenBLAS's threads spin for a while after every call,
    taking the core the graph server answers on, and a scan of a few thousand
    products gains little from a second one (MovieLens-100K's ``explain=true``
    p99, whose graph read waits on that core: docs/api.md).

    Returns:
        The BLAS limits set; ``restore_original_limits()`` undoes them.
    """
    faiss.omp_set_num_threads(threads)
    if device == "cpu":
        torch.set_num_threads(threads)
    blas = blas_threads or serving_blas_threads(products)
    return threadpool_limits(limits=blas, user_api="blas")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _json_fault(doc: str, pos: int, reason: str) -> str:
    """``body: invalid JSON at line L, column C: <what was expected>``."""
    line = doc.count("\n", 0, pos) + 1
    column = pos - doc.rfind("\n", 0, pos)
    return f"invalid JSON at line {line}, column {column} (character {pos}): {reason}"


def _unprocessable(errors: Sequence[tuple[list[str | int], str]]) -> JSONResponse:
    """422 ``{"detail": "field: msg; ...", "errors": [{"loc", "msg"}]}``."""
    parts, listed = [], []
    for raw_loc, raw_msg in errors[:_MAX_ERRORS]:
        loc = [p if isinstance(p, int) else _short(str(p), _MAX_LOC_PART) for p in raw_loc]
        msg = _short(raw_msg, _MAX_MSG)
        where = ("query", "body", "path", "header", "cookie")
        name = loc[1:] if len(loc) > 1 and loc[0] in where else loc  # the field, not where
        parts.append(f"{'.'.join(map(str, name)) or 'request'}: {msg}")
        listed.append({"loc": loc, "msg": msg})
    if len(errors) > _MAX_ERRORS:
        parts.append(f"and {len(errors) - _MAX_ERRORS} more errors")
    return JSONResponse({"detail": "; ".join(parts), "errors": listed}, status_code=422)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors: list[tuple[list[str | int], str]] = []
    for e in exc.errors():
        loc = list(e.get("loc", ()))
        msg = str(e.get("msg", "invalid"))
        if e.get("type") == "json_invalid" and isinstance(exc.body, str) and len(loc) == 2:
            reason = str((e.get("ctx") or {}).get("error", "not JSON"))
            errors.append((["body"], _json_fault(exc.body, int(loc[1]), reason)))
            continue
        errors.append((loc, msg))
    return _unprocessable(errors)


async def _http_error(request: Request, exc: Exception) -> Any:
    """A body FastAPI could not parse is a 422 that says why; other HTTP errors as usual."""
    assert isinstance(exc, StarletteHTTPException)
    cause = exc.__cause__
    if exc.status_code == 400 and isinstance(cause, UnicodeDecodeError):
        byte = cause.object[cause.start : cause.start + 1].hex()
        msg = (
            f"the request body is not valid UTF-8 (byte 0x{byte} at offset {cause.start}); "
            "send JSON encoded as UTF-8"
        )
        return _unprocessable([(["body"], msg)])
    if exc.status_code == 400 and isinstance(cause, RecursionError):
        return _unprocessable([(["body"], "the JSON body is nested too deeply to be read")])
    return await http_exception_handler(request, exc)


class _CatchAll:
    """Pure ASGI middleware: an exception no handler took becomes a logged JSON 500.

    Starlette's own last-resort handler re-raises after answering, and uvicorn then
    drops the keep-alive connection without ``Connection: close``; here the answer
    is complete and the connection stays usable.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            log.exception("%s %s -> 500: unexpected error", scope["method"], route)
            if started:  # part of an answer is out: only closing the connection is left
                raise
            await JSONResponse({"detail": INTERNAL_ERROR}, status_code=500)(scope, receive, send)


class _MetricsMiddleware:
    """Pure ASGI middleware that counts and times requests by route template.

    Every answer says how long the service took to start it, in a ``Server-Timing``
    header (``app;dur=<ms>``, the W3C header browsers' developer tools show): a
    client tells the service's share of what it waited from the network's and its
    own. When asked, it also writes the access-log line (method, route template,
    status, ms).
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, access: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.access = access

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
                took = f"app;dur={(time.perf_counter() - start) * 1e3:.2f}".encode()
                headers = [*message.get("headers", []), (b"server-timing", took)]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            seconds = time.perf_counter() - start
            self.metrics.observe(scope["method"], name, status, seconds)
            if self.access:
                access_log.info("%s %s %d %.1f ms", scope["method"], name, status, seconds * 1e3)


class _Api(FastAPI):
    """The FastAPI app whose OpenAPI schema states the configured ``max_k``."""

    max_k: int = 100

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            schema = super().openapi()
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    for param in operation.get("parameters", []):
                        if param.get("name") == "k" and param.get("in") == "query":
                            param["schema"]["maximum"] = self.max_k
            models = schema.get("components", {}).get("schemas", {})
            k = models.get("SearchIn", {}).get("properties", {}).get("k")
            if k is not None:
                k["maximum"] = self.max_k
        return self.openapi_schema or {}


def create_app(settings: Settings, services: ServicesFactory | None = None) -> FastAPI:
    """Build the API.

    Args:
        settings: kgrec settings (keys, limits, weights, graph, data directory).
        services: builds the engine and graph for the app's lifetime; default
            :func:`kgrec.api.wiring.default_services` (configured graph, latest artifacts).
    """
    factory = services or default_services
    metrics = Metrics(multiprocess_dir=multiprocess_dir())
    event_ids = EventIds.in_data_dir(settings.data_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.serving.api_key is None:
            log.warning(
                "writes are disabled: no API key is configured (set KGREC_SERVING__API_KEY or "
                "`kgrec serve --api-key`); POST /items, PUT /items/{id}, POST /events, "
                "PUT /users/{id} and DELETE /users/{id} answer 401"
            )
        with factory(settings) as built:
            built.check_arms(app.state.experiments.active)
            blas = use_search_threads(
                settings.serving.search_threads,
                settings.resolve_device(),
                settings.serving.blas_threads,
                built.engine.index_info()["catalogue_items"],
            )
            built.metrics = metrics
            app.state.services = built
            try:
                yield
            finally:
                blas.restore_original_limits()
                event_ids.close()

    error_responses: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorOut} for code in (401, 404, 422, 500, 503)
    }
    app = _Api(
        title="kgrec",
        summary="Knowledge-graph recommendations, search and online cold start.",
        version=importlib.metadata.version("kgrec"),
        lifespan=lifespan,
        responses=error_responses,
    )
    app.max_k = settings.serving.max_k
    app.state.event_ids = event_ids
    app.state.pseudonymise = Pseudonymiser.from_salt(settings.pseudonymise_salt)
    app.state.experiments = experiments_of(settings)
    app.state.retry_after_s = retry_after_s(settings)
    app.include_router(api_router, dependencies=[Depends(known_query_params)])
    mount_ui(app)
    app.add_exception_handler(KgrecError, _kgrec_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(_CatchAll)
    app.add_middleware(_MetricsMiddleware, metrics=metrics, access=settings.serving.api_access_log)
    return app
