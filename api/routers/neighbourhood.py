"""GET /items/{item_id}/neighbourhood: a product's neighbourhood as a small graph."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from starlette.concurrency import run_in_threadpool

from kgrec.api.deps import EngineDep, ServicesDep, require_read_key
from kgrec.api.explorer import MAX_LINKS, MAX_SIMILAR, NeighbourhoodOut, neighbourhood
from kgrec.api.schemas import RefId

router = APIRouter(tags=["explore"], dependencies=[Depends(require_read_key)])


@router.get("/items/{item_id}/neighbourhood", response_model=NeighbourhoodOut)
async def item_neighbourhood(
    engine: EngineDep,
    services: ServicesDep,
    item_id: Annotated[RefId, Path()],
    similar: Annotated[
        int, Query(ge=0, le=MAX_SIMILAR, description="Similar products drawn, 0..25.")
    ] = 8,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_LINKS,
            description="Most links read per part (direct links, category ancestors, "
            "links of the similar products), 1..200.",
        ),
    ] = 40,
) -> NeighbourhoodOut:
    """A product's neighbourhood as nodes and edges (404 for an unknown product).

    The product, its brand, categories (with ancestors), knowledge-graph entities
    and its most similar products.

    Without a reachable graph only the similar products are given (``graph`` says
    why, ``notes`` what was left out).
    """
    return await run_in_threadpool(
        neighbourhood, engine, services.store, item_id, similar=similar, limit=limit
    )
