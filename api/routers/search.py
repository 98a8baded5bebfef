"""POST /search (the read key when ``api_read_requires_key``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from kgrec.api.deps import (
    EngineForDep,
    ExperimentsDep,
    PseudonymiserDep,
    ServicesDep,
    check_k,
    check_price_range,
    require_read_key,
)
from kgrec.api.engine import Engine
from kgrec.api.experiments.arms import RankingOverrides
from kgrec.api.ranked_schemas import RankedOut
from kgrec.api.ranking import RankedList
from kgrec.api.routers.answers import answer
from kgrec.api.schemas import SearchIn

router = APIRouter(tags=["search"], dependencies=[Depends(require_read_key)])


@router.post("/search", response_model=RankedOut)
async def search(
    body: SearchIn,
    engine_for: EngineForDep,
    services: ServicesDep,
    experiments: ExperimentsDep,
    pseudonymise: PseudonymiserDep,
) -> RankedOut:
    """Products matching a query, personalised by the user's graph vector when known.

    The answer carries a request_id (send it back with POST /events) and the
    experiment arm that served it (by user_id, else session_id).
    """
    body = body.model_copy(update={"user_id": pseudonymise.optional(body.user_id)})
    check_k(body.k, services.settings.serving.max_k, "body")
    check_price_range(body.min_price, body.max_price, "body")
    filters = body.to_filters()

    def rank(engine: Engine, overrides: RankingOverrides | None) -> RankedList:
        return engine.search(
            body.query,
            user_id=body.user_id,
            k=body.k,
            filters=filters,
            explain=body.explain,
            overrides=overrides,
            session_id=body.session_id,
        )

    return await answer(
        rank,
        experiments,
        engine_for,
        endpoint="search",
        user_id=body.user_id,
        session_id=body.session_id,
        inline=lambda engine: engine.runs_inline(body.user_id, body.query, body.explain),
    )
