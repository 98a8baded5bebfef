"""FastAPI dependencies and the request checks routers share.

The dependencies give the services, engine, API-key checks, filters and k; the
checks are :func:`reject` and the 422 problems it answers with.

The dependencies are ``async def``: they do no blocking work, and FastAPI would run
a plain ``def`` dependency in the thread pool (a hop per dependency per request).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any, NoReturn, cast

from fastapi import Depends, Header, Query, Request
from fastapi.exceptions import RequestValidationError

from kgrec.api.engine import Engine
from kgrec.api.event_ids import EventIds
from kgrec.api.experiments.arms import RankingOverrides
from kgrec.api.experiments.serving import Experiments
from kgrec.api.ranking import Filters
from kgrec.api.schemas import MAX_K_CAP, FiltersQuery
from kgrec.api.wiring import Services
from kgrec.errors import AuthenticationError
from kgrec.pseudonym import Pseudonymiser

Loc = tuple[str | int, ...]


def problem(loc: Loc, msg: str, kind: str) -> dict[str, Any]:
    """One request-validation error, as pydantic reports them.

    ``loc`` starts with where the field was sent: ``body``, ``query``, ``path``.
    """
    return {"type": kind, "loc": loc, "msg": msg, "input": None}


def reject(problems: Sequence[dict[str, Any]]) -> NoReturn:
    """Answer 422 naming each field, in the format of FastAPI's own validation errors."""
    raise RequestValidationError(list(problems))


def _dotted(loc: Loc) -> str:
    return ".".join(str(p) for p in loc[1:])


def repeats(values: Iterable[tuple[Loc, str]], what: str) -> list[dict[str, Any]]:
    """A 422 problem for each value seen before in ``values`` (naming where it was first)."""
    first: dict[str, Loc] = {}
    out: list[dict[str, Any]] = []
    for loc, value in values:
        if value in first:
            msg = f"{value!r} repeats {_dotted(first[value])}; send each {what} once"
            out.append(problem(loc, msg, "duplicate"))
        else:
            first[value] = loc
    return out


def check_price_range(min_price: float | None, max_price: float | None, where: str) -> None:
    """422 on ``min_price`` when it exceeds ``max_price`` (no product could match)."""
    if min_price is not None and max_price is not None and min_price > max_price:
        reject(
            [
                problem(
                    (where, "min_price"),
                    f"min_price ({min_price:g}) must not exceed max_price ({max_price:g})",
                    "price_range",
                )
            ]
        )


def check_k(k: int, max_k: int, where: str) -> None:
    """422 on ``k`` above the configured ``max_k`` (the OpenAPI schema states it)."""
    if k > max_k:
        reject(
            [
                problem(
                    (where, "k"),
                    f"Input should be less than or equal to {max_k} (KGREC_SERVING__MAX_K)",
                    "less_than_equal",
                )
            ]
        )


async def get_services(request: Request) -> Services:
    """The services the lifespan built."""
    return cast(Services, request.app.state.services)


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_engine(services: ServicesDep) -> Engine:
    """The serving engine."""
    return services.engine


EngineDep = Annotated[Engine, Depends(get_engine)]
EngineFor = Callable[[RankingOverrides | None], Engine]


async def get_engine_for(services: ServicesDep) -> EngineFor:
    """Picks the engine of an experiment arm (:meth:`kgrec.api.wiring.Services.engine_for`)."""
    return services.engine_for


EngineForDep = Annotated[EngineFor, Depends(get_engine_for)]
ApiKeyHeader = Annotated[
    str | None, Header(alias="X-API-Key", description="API key (KGREC_SERVING__API_KEY).")
]


def _check_key(services: Services, given: str | None, what: str) -> None:
    expected = services.settings.serving.api_key
    if expected is None:
        raise AuthenticationError(
            f"{what} are disabled: no API key is configured (set KGREC_SERVING__API_KEY)"
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
    if services.settings.serving.api_read_requires_key:
        _check_key(services, x_api_key, "read endpoints")


async def get_event_ids(request: Request) -> EventIds:
    """The event-id ledger of the app (idempotent ``POST /events``)."""
    return cast(EventIds, request.app.state.event_ids)


EventIdsDep = Annotated[EventIds, Depends(get_event_ids)]


async def get_experiments(request: Request) -> Experiments:
    """The app's experiments and their event log (:mod:`kgrec.api.experiments`)."""
    return cast(Experiments, request.app.state.experiments)


ExperimentsDep = Annotated[Experiments, Depends(get_experiments)]


async def get_pseudonymiser(request: Request) -> Pseudonymiser:
    """Maps a client's shopper id to the one stored.

    See ``KGREC_PSEUDONYMISE_SALT`` and :mod:`kgrec.pseudonym`. Every route applies
    it before the id reaches the engine, the graph, the event-id ledger or the
    experiment log.
    """
    return cast(Pseudonymiser, request.app.state.pseudonymise)


PseudonymiserDep = Annotated[Pseudonymiser, Depends(get_pseudonymiser)]


async def query_filters(filters: Annotated[FiltersQuery, Query()]) -> Filters:
    """Filters from query parameters (422 when ``min_price`` > ``max_price``)."""
    check_price_range(filters.min_price, filters.max_price, "query")
    return filters.to_filters()


FiltersDep = Annotated[Filters, Depends(query_filters)]


async def result_count(
    services: ServicesDep,
    k: Annotated[
        int,
        Query(
            ge=1, le=MAX_K_CAP, description="Results wanted, 1..KGREC_SERVING__MAX_K (default 100)."
        ),
    ] = 10,
) -> int:
    """``k`` checked against the configured ``max_k``."""
    check_k(k, services.settings.serving.max_k, "query")
    return k


KDep = Annotated[int, Depends(result_count)]
