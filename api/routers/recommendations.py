"""GET /recommendations."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep, FiltersDep, KDep, require_read_key
from api.schemas import MAX_QUERY_CHARS, RankedOut, RefId, ranked_out


def build_router() -> APIRouter:
    """The recommendations router."""
    router = APIRouter(tags=["recommendations"], dependencies=[Depends(require_read_key)])

    @router.get("/recommendations", response_model=RankedOut)
    async def recommendations(
        engine: EngineDep,
        filters: FiltersDep,
        k: KDep,
        user_id: Annotated[RefId | None, Query()] = None,
        query: Annotated[str | None, Query(min_length=1, max_length=MAX_QUERY_CHARS)] = None,
        context_item: Annotated[RefId | None, Query(description="Product being viewed.")] = None,
        explain: bool = False,
    ) -> RankedOut:
        """Top-k products for a user; an unknown user is served from context and popularity."""
        call = partial(
            engine.recommend,
            user_id,
            k=k,
            query=query,
            context_item=context_item,
            filters=filters,
            explain=explain,
        )
        inline = engine.runs_inline(user_id, query, explain)
        return ranked_out(call() if inline else await run_in_threadpool(call))

    return router
