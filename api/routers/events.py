"""POST /events (the write key)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends

from kgrec.api.deps import (
    EngineDep,
    EventIdsDep,
    ExperimentsDep,
    PseudonymiserDep,
    ServicesDep,
    problem,
    reject,
    repeats,
    require_write_key,
)
from kgrec.api.event_ids import KeyedEvent
from kgrec.api.experiments.serving import Feedback
from kgrec.api.schemas import EventsIn, EventsOut
from kgrec.errors import NotFoundError

router = APIRouter(tags=["events"], dependencies=[Depends(require_write_key)])


@router.post("/events", response_model=EventsOut, status_code=201)
def record_events(
    body: EventsIn,
    engine: EngineDep,
    services: ServicesDep,
    event_ids: EventIdsDep,
    experiments: ExperimentsDep,
    pseudonymise: PseudonymiserDep,
) -> EventsOut:
    """Write interactions, recompute the users' graph vectors (503 while the graph is down).

    All or nothing: the whole batch is checked (fields, event ids, products) before
    anything is written. An ``event_id`` stored before is written with the ``ts`` it
    was first given, so a retried request changes nothing. Events that carry the
    ``request_id`` of an answer are appended to the experiment log (fsynced) before
    the 201 (docs/experiments.md).
    """
    events = [e.model_copy(update={"user_id": pseudonymise(e.user_id)}) for e in body.events]
    keys = [(i, e.event_id) for i, e in enumerate(events) if e.event_id is not None]
    problems = repeats(((("body", "events", i, "event_id"), k) for i, k in keys), "event")
    if problems:
        reject(problems)
    unknown: dict[str, int] = {}
    for i, e in enumerate(events):
        try:
            engine.require_item(e.product_id, "product_id")
        except NotFoundError:
            unknown.setdefault(e.product_id, i)
    if unknown:
        first = min(unknown.values())
        names = ", ".join(repr(p) for p in sorted(unknown, key=unknown.__getitem__)[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise NotFoundError(
            f"events.{first}.product_id: product(s) {names}{more} not found; nothing was written"
        )
    now = int(time.time())
    keyed = [
        KeyedEvent(i, e.event_id, (e.user_id, e.product_id, e.kind, e.value), e.ts)
        for i, e in enumerate(events)
        if e.event_id is not None
    ]
    resolved = event_ids.resolve(keyed, now)
    if resolved.conflicts:
        reject(
            [
                problem(("body", "events", i, "event_id"), m, "event_id_reused")
                for i, m in resolved.conflicts
            ]
        )
    rows = [e.to_row(resolved.ts.get(i, now)) for i, e in enumerate(events)]
    recorded = services.record_events(rows)  # the main engine, then the arms' (api.wiring)
    experiments.log_feedback(
        [
            Feedback(e.request_id, e.user_id, e.product_id, e.kind, row["ts"])
            for e, row in zip(events, rows, strict=True)
            if e.request_id is not None
        ]
    )
    return EventsOut(
        accepted=len(rows),
        users_updated=recorded.users,
        repeated=resolved.repeated,
        unchanged=recorded.unchanged,
    )
