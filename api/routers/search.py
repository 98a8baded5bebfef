"""POST /search."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import EngineDep, require_read_key
from api.ranking import Filters
from api.schemas import RankedOut, SearchIn, ranked_out


def build_router() -> APIRouter:
    """The search router."""
    router = APIRouter(tags=["search"], dependencies=[Depends(require_read_key)])

    @router.post("/search", response_model=RankedOut)
    def search(body: SearchIn, engine: EngineDep) -> RankedOut:
        """Products matching a query, personalised by the user's graph vector when known."""
        filters = Filters(
            categories=tuple(body.categories),
            brands=tuple(body.brands),
            min_price=body.min_price,
            max_price=body.max_price,
            in_stock_only=body.in_stock_only,
        )
        return ranked_out(
            engine.search(
                body.query, user_id=body.user_id, k=body.k, filters=filters, explain=body.explain
            )
        )

    return router
