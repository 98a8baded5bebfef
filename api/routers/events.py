"""POST /events."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends

from api.deps import EngineDep, require_write_key
from api.schemas import EventsIn, EventsOut
from graph.records import InteractionRow


def build_router() -> APIRouter:
    """The events router."""
    router = APIRouter(tags=["events"], dependencies=[Depends(require_write_key)])

    @router.post("/events", response_model=EventsOut, status_code=201)
    def record_events(body: EventsIn, engine: EngineDep) -> EventsOut:
        """Write interactions, recompute the users' graph vectors (503 while the graph is down)."""
        now = int(time.time())
        rows: list[InteractionRow] = [
            {
                "user_id": e.user_id,
                "product_id": e.product_id,
                "kind": e.kind,
                "ts": e.ts if e.ts is not None else now,
                "value": e.value,
            }
            for e in body.events
        ]
        users = engine.record_events(rows)
        return EventsOut(accepted=len(rows), users_updated=users)

    return router
