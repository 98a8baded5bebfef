"""One ranked answer of /recommendations or /search.

Its arm, its request id, its impression in the experiment log
(:mod:`kgrec.api.experiments`).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from kgrec.api.deps import EngineFor
from kgrec.api.engine import Engine
from kgrec.api.experiments.arms import RankingOverrides
from kgrec.api.experiments.serving import Endpoint, Experiments, new_request_id
from kgrec.api.ranked_schemas import ArmOut, RankedOut
from kgrec.api.ranking import RankedList

RankCall = Callable[[Engine, RankingOverrides | None], RankedList]
InlineCheck = Callable[[Engine], bool]


async def answer(
    rank: RankCall,
    experiments: Experiments,
    engine_for: EngineFor,
    *,
    endpoint: Endpoint,
    user_id: str | None,
    session_id: str | None,
    inline: InlineCheck,
) -> RankedOut:
    """Rank with the request's arm's engine and overrides, log the impression, and answer.

    The arm's engine is the one pinned to its artifact version, else the main one.
    Ranking runs on the event loop when ``inline(engine)``, else in the thread pool. The
    impression is logged when the request is in an experiment (written and fsynced,
    in the thread pool, before the answer leaves); the answer carries its
    ``request_id`` and ``arm``.

    Raises:
        ServiceUnavailableError: the experiment log cannot be written (503).
    """
    assigned = experiments.assign(user_id, session_id)
    overrides = assigned.overrides if assigned is not None else None
    engine = engine_for(overrides)
    if inline(engine):
        ranked = rank(engine, overrides)
    else:
        ranked = await run_in_threadpool(rank, engine, overrides)
    request_id = new_request_id()
    out = RankedOut.model_validate(ranked).model_copy(update={"request_id": request_id})
    if assigned is None:
        return out
    await run_in_threadpool(
        experiments.log_impression,
        request_id,
        assigned,
        endpoint=endpoint,
        user_id=user_id,
        session_id=session_id,
        product_ids=[i.id for i in ranked.items],
    )
    return out.model_copy(update={"arm": ArmOut.model_validate(assigned)})
