"""GET /recommendations (the read key when ``api_read_requires_key``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from kgrec.api.deps import (
    EngineForDep,
    ExperimentsDep,
    FiltersDep,
    KDep,
    PseudonymiserDep,
    require_read_key,
)
from kgrec.api.engine import Engine
from kgrec.api.experiments.arms import RankingOverrides
from kgrec.api.ranked_schemas import RankedOut
from kgrec.api.ranking import RankedList
from kgrec.api.routers.answers import answer
from kgrec.api.schemas import MAX_QUERY_CHARS, RefId

router = APIRouter(tags=["recommendations"], dependencies=[Depends(require_read_key)])


@router.get("/recommendations", response_model=RankedOut)
async def recommendations(
    engine_for: EngineForDep,
    experiments: ExperimentsDep,
    filters: FiltersDep,
    k: KDep,
    pseudonymise: PseudonymiserDep,
    user_id: Annotated[RefId | None, Query()] = None,
    query: Annotated[str | None, Query(min_length=1, max_length=MAX_QUERY_CHARS)] = None,
    context_item: Annotated[RefId | None, Query(description="Product being viewed.")] = None,
    session_id: Annotated[
        RefId | None,
        Query(
            description="An anonymous visitor's session: assigns the experiment arm and, "
            "without a user_id, the visitor's draw of the fresh products."
        ),
    ] = None,
    explain: bool = False,
) -> RankedOut:
    """Top-k products for a user; an unknown user is served from context and popularity.

    The answer carries a request_id (send it back with POST /events) and the
    experiment arm that served it (by user_id, else session_id).
    """
    user_id = pseudonymise.optional(user_id)

    def rank(engine: Engine, overrides: RankingOverrides | None) -> RankedList:
        return engine.recommend(
            user_id,
            k=k,
            query=query,
            context_item=context_item,
            filters=filters,
            explain=explain,
            overrides=overrides,
            session_id=session_id,
        )

    return await answer(
        rank,
        experiments,
        engine_for,
        endpoint="recommendations",
        user_id=user_id,
        session_id=session_id,
        inline=lambda engine: engine.runs_inline(user_id, query, explain),
    )
