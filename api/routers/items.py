"""GET /items/{id}/similar and POST /items."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Depends, Path, Query

from api.deps import EngineDep, FiltersDep, require_read_key, require_write_key
from api.schemas import ItemsIn, ItemsOut, RankedOut, ranked_out
from graph.records import ProductRow


def build_router() -> APIRouter:
    """The items router."""
    router = APIRouter(tags=["items"])

    @router.get(
        "/items/{item_id}/similar",
        response_model=RankedOut,
        dependencies=[Depends(require_read_key)],
    )
    def similar(
        engine: EngineDep,
        filters: FiltersDep,
        item_id: Annotated[str, Path(min_length=1, max_length=256)],
        k: Annotated[int, Query(ge=1)] = 10,
    ) -> RankedOut:
        """Products close to this one in graph and text space."""
        return ranked_out(engine.similar(item_id, k=k, filters=filters))

    @router.post(
        "/items",
        response_model=ItemsOut,
        status_code=201,
        dependencies=[Depends(require_write_key)],
    )
    def upsert_items(body: ItemsIn, engine: EngineDep) -> ItemsOut:
        """Upsert products: written to the graph, encoded, embedded and served at once.

        A product that exists is merged: the fields the request carries are written
        (``null`` removes one), the others are left as they are.
        """
        rows = [cast(ProductRow, i.model_dump(exclude_unset=True)) for i in body.items]
        added = engine.add_items(rows)
        return ItemsOut(added=added, artifact_version=engine.version, items_served=engine.size)

    return router
