"""GET /explain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import EngineDep, require_read_key
from api.schemas import ExplainOut, RefId


def build_router() -> APIRouter:
    """The explanation router."""
    router = APIRouter(tags=["explain"], dependencies=[Depends(require_read_key)])

    @router.get("/explain", response_model=ExplainOut)
    def explain(
        engine: EngineDep,
        user_id: Annotated[RefId, Query()],
        item_id: Annotated[RefId, Query()],
    ) -> ExplainOut:
        """The shortest graph path from the user to the product (404 for an unknown product)."""
        engine.require_item(item_id, "item_id")
        return ExplainOut(user_id=user_id, item_id=item_id, path=engine.explain(user_id, item_id))

    return router
