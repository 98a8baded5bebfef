"""GET /explain (the read key when ``api_read_requires_key``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from kgrec.api.deps import EngineDep, PseudonymiserDep, require_read_key
from kgrec.api.schemas import ExplainOut, RefId
from kgrec.errors import NotFoundError
from kgrec.typing import USER


def unknown_shopper(user_id: str, item_id: str) -> NotFoundError:
    """The 404 of an explanation asked for a shopper the service does not know."""
    return NotFoundError(
        f"user_id: shopper {user_id!r} is unknown (not in the served artifact version, no "
        f"events since), so nothing links them to {item_id!r}; send their events with "
        "POST /events first, or ask GET /recommendations, which serves an unknown shopper "
        "from the query, the context product and popularity"
    )


router = APIRouter(tags=["explain"], dependencies=[Depends(require_read_key)])


@router.get("/explain", response_model=ExplainOut)
def explain(
    engine: EngineDep,
    pseudonymise: PseudonymiserDep,
    user_id: Annotated[RefId, Query()],
    item_id: Annotated[RefId, Query()],
) -> ExplainOut:
    """The shortest graph path from the user to the product.

    404 for an unknown product, and for a shopper the service does not know
    when the graph holds no path either (the message says what to do).
    """
    engine.require_item(item_id, "item_id")
    shopper = pseudonymise(user_id)
    path = engine.explain(shopper, item_id)
    if path is None and engine.unserved(USER, [shopper]):
        raise unknown_shopper(user_id, item_id)
    return ExplainOut(user_id=user_id, item_id=item_id, path=path)
