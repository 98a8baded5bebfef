"""known_query_params: a query parameter no route reads is refused, not ignored.

Request bodies are strict (an unknown field is a 422), and so are the query
strings: ``GET /recommendations?categories=Horror`` (the parameter is
``category``) answered with no filter at all before, which a client cannot tell
from a filter that matched everything. Each route's names are those its OpenAPI
operation lists, read once per app.
"""

from __future__ import annotations

from typing import cast

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute

from kgrec.api.deps import problem, reject
from kgrec.errors import did_you_mean

_MAX_LISTED = 20


def route_query_names(app: FastAPI) -> dict[tuple[str, str], frozenset[str]]:
    """(path template, lower-case method) -> the query parameter names its operation reads."""
    names: dict[tuple[str, str], frozenset[str]] = {}
    for path, operations in app.openapi().get("paths", {}).items():
        for method, operation in operations.items():
            params = operation.get("parameters", []) if isinstance(operation, dict) else []
            names[(path, method)] = frozenset(
                p["name"] for p in params if isinstance(p, dict) and p.get("in") == "query"
            )
    return names


async def known_query_params(request: Request) -> None:
    """Answer 422 for each query parameter the matched route does not read.

    The problem names the parameter, the route's valid ones and the closest of
    them (``categories`` -> ``category``). A route outside the OpenAPI schema is
    not checked.
    """
    if not request.query_params:
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    app = cast(FastAPI, request.app)
    table: dict[tuple[str, str], frozenset[str]] | None = getattr(app.state, "query_names", None)
    if table is None:
        table = app.state.query_names = route_query_names(app)
    allowed = table.get((route.path_format, request.method.lower()))
    if allowed is None:
        return
    unknown = [name for name in dict.fromkeys(request.query_params) if name not in allowed]
    if unknown:
        reject(
            [
                problem(("query", name), _unknown(name, allowed), "extra_forbidden")
                for name in unknown
            ]
        )


def _unknown(name: str, allowed: frozenset[str]) -> str:
    """``unknown query parameter; did you mean 'x'? (this route reads: ...)``."""
    valid = sorted(allowed)
    shown = ", ".join(valid[:_MAX_LISTED]) + (", ..." if len(valid) > _MAX_LISTED else "")
    reads = f"this route reads: {shown}" if valid else "this route reads no query parameters"
    return f"unknown query parameter{did_you_mean(name, valid)} ({reads})"


__all__ = ["known_query_params", "route_query_names"]
