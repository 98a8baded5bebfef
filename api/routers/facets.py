"""GET /facets: the filter choices (categories, brands, a few shopper ids)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from kgrec.api.deps import EngineDep, ServicesDep, require_read_key
from kgrec.api.explorer import MAX_FACET_USERS, MAX_FACETS, FacetsOut, facets

router = APIRouter(tags=["explore"], dependencies=[Depends(require_read_key)])


@router.get("/facets", response_model=FacetsOut)
async def list_facets(
    engine: EngineDep,
    services: ServicesDep,
    limit: Annotated[
        int, Query(ge=1, le=MAX_FACETS, description="Most categories and brands, 1..1000.")
    ] = 500,
    users: Annotated[
        int, Query(ge=0, le=MAX_FACET_USERS, description="Shopper ids listed, 0..200.")
    ] = 50,
) -> FacetsOut:
    """Categories (with their parent), brands and a few shopper ids, ordered by id.

    503 when the graph does not answer.
    """
    return await run_in_threadpool(facets, engine, services.store, limit=limit, users=users)
