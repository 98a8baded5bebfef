"""POST /search."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep, ServicesDep, check_k, check_price_range, require_read_key
from api.ranking import Filters
from api.schemas import RankedOut, SearchIn, ranked_out


def build_router() -> APIRouter:
    """The search router."""
    router = APIRouter(tags=["search"], dependencies=[Depends(require_read_key)])

    @router.post("/search", response_model=RankedOut)
    async def search(body: SearchIn, engine: EngineDep, services: ServicesDep) -> RankedOut:
        """Products matching a query, personalised by the user's graph vector when known."""
        check_k(body.k, services.settings.max_k, "body")
        check_price_range(body.min_price, body.max_price, "body")
        filters = Filters(
            categories=tuple(body.categories),
            brands=tuple(body.brands),
            min_price=body.min_price,
            max_price=body.max_price,
            in_stock_only=body.in_stock_only,
        )
        call = partial(
            engine.search,
            body.query,
            user_id=body.user_id,
            k=body.k,
            filters=filters,
            explain=body.explain,
        )
        inline = engine.runs_inline(body.user_id, body.query, body.explain)
        return ranked_out(call() if inline else await run_in_threadpool(call))

    return router
