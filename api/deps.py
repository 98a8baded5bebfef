"""FastAPI dependencies: the services of the app, the engine, API-key checks, filters.

All are ``async def``: they do no blocking work, and FastAPI would run a plain
``def`` dependency in the thread pool (a hop per dependency per request).
"""

from __future__ import annotations

import secrets
from typing import Annotated, cast

from fastapi import Depends, Header, Query, Request

from api.engine import Engine
from api.ranking import Filters
from api.wiring import Services
from kgrec.errors import AuthenticationError


async def get_services(request: Request) -> Services:
    """The services the lifespan built."""
    return cast(Services, request.app.state.services)


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_engine(services: ServicesDep) -> Engine:
    """The serving engine."""
    return services.engine


EngineDep = Annotated[Engine, Depends(get_engine)]
ApiKeyHeader = Annotated[
    str | None, Header(alias="X-API-Key", description="API key (KGREC_API_KEY).")
]


def _check_key(services: Services, given: str | None, what: str) -> None:
    expected = services.settings.api_key
    if expected is None:
        raise AuthenticationError(
            f"{what} are disabled: no API key is configured (set KGREC_API_KEY)"
        )
    if given is None:
        raise AuthenticationError(f"X-API-Key: {what} require the API key header")
    if not secrets.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise AuthenticationError("X-API-Key: the API key is wrong")


async def require_write_key(services: ServicesDep, x_api_key: ApiKeyHeader = None) -> None:
    """Write endpoints always require the key."""
    _check_key(services, x_api_key, "write endpoints")


async def require_read_key(services: ServicesDep, x_api_key: ApiKeyHeader = None) -> None:
    """Read endpoints require the key when ``api_read_requires_key`` is set."""
    if services.settings.api_read_requires_key:
        _check_key(services, x_api_key, "read endpoints")


async def query_filters(
    category: Annotated[
        list[str], Query(description="Category id (descendants included); repeatable.")
    ] = [],  # noqa: B006  (FastAPI copies defaults)
    brand: Annotated[list[str], Query(description="Brand id; repeatable.")] = [],  # noqa: B006
    min_price: Annotated[float | None, Query(ge=0)] = None,
    max_price: Annotated[float | None, Query(ge=0)] = None,
    in_stock_only: bool = False,
) -> Filters:
    """Filters from query parameters."""
    return Filters(
        categories=tuple(category),
        brands=tuple(brand),
        min_price=min_price,
        max_price=max_price,
        in_stock_only=in_stock_only,
    )


FiltersDep = Annotated[Filters, Depends(query_filters)]
