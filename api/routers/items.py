"""GET /items/{id}/similar, POST /items and PUT /items/{id}."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from kgrec.api.deps import (
    EngineDep,
    FiltersDep,
    KDep,
    Loc,
    ServicesDep,
    problem,
    reject,
    repeats,
    require_read_key,
    require_write_key,
)
from kgrec.api.ranked_schemas import RankedOut
from kgrec.api.schemas import ItemFields, ItemsIn, ItemsOut, NewId, RefId
from kgrec.api.wiring import Services
from kgrec.errors import GraphConnectionError, ServiceUnavailableError, did_you_mean
from kgrec.typing import CATEGORY


def check_categories(services: Services, wanted: Sequence[tuple[Loc, str]]) -> None:
    """422 naming each category id that is not in the graph (the write would create it).

    503 when the graph does not answer: a write the check could not vet is not
    made (a graph back by the time of the write would take an unknown category,
    which the write's link ``MATCH`` drops while the served row keeps it).
    Without a graph the write itself answers 503.
    """
    ids = {c for _, c in wanted}
    store = services.store
    if not ids or store is None:
        return
    try:
        if not services.engine.graph_up(fresh=True):
            raise GraphConnectionError(f"no answer from {store.uri}")
        known = store.existing_ids(CATEGORY, ids)
    except GraphConnectionError as e:
        raise ServiceUnavailableError(
            f"products not accepted: the graph server does not answer ({e}); "
            "nothing was written, retry later"
        ) from e
    missing = [(loc, c) for loc, c in wanted if c not in known]
    if not missing:
        return
    served = services.engine.category_ids()  # for the hint only: a miss, not every write
    reject(
        [
            problem(
                loc,
                f"category {c!r} does not exist{did_you_mean(c, served)}; categories are "
                "created by `kgrec import --categories`",
                "unknown_category",
            )
            for loc, c in missing
        ]
    )


router = APIRouter(tags=["items"])


@router.get(
    "/items/{item_id}/similar",
    response_model=RankedOut,
    dependencies=[Depends(require_read_key)],
)
def similar(
    engine: EngineDep,
    filters: FiltersDep,
    k: KDep,
    item_id: Annotated[RefId, Path()],
) -> RankedOut:
    """Products close to this one in graph and text space."""
    return RankedOut.model_validate(engine.similar(item_id, k=k, filters=filters))


@router.post(
    "/items",
    response_model=ItemsOut,
    status_code=201,
    dependencies=[Depends(require_write_key)],
)
def upsert_items(body: ItemsIn, engine: EngineDep, services: ServicesDep) -> ItemsOut:
    """Upsert products: written to the graph, encoded, embedded and served at once.

    A product that exists is merged: the fields the request carries are written
    (``null`` removes one), the others are left as they are. Each id once per
    request; every category must exist (422 naming the unknown one).
    """
    problems = repeats(
        ((("body", "items", i, "id"), it.id) for i, it in enumerate(body.items)), "product"
    )
    categories = [
        (("body", "items", i, "category_ids", j), c)
        for i, it in enumerate(body.items)
        for j, c in enumerate(it.category_ids)
    ]
    for i, it in enumerate(body.items):
        problems += repeats(
            ((("body", "items", i, "category_ids", j), c) for j, c in enumerate(it.category_ids)),
            "category",
        )
    if problems:
        reject(problems)
    check_categories(services, categories)
    added = services.add_items([i.to_row() for i in body.items])
    return ItemsOut(added=added, artifact_version=engine.version, items_served=engine.size)


@router.put(
    "/items/{item_id}",
    response_model=ItemsOut,
    dependencies=[Depends(require_write_key)],
)
def replace_item(
    item_id: Annotated[NewId, Path()],
    body: ItemFields,
    engine: EngineDep,
    services: ServicesDep,
) -> ItemsOut:
    """Create or replace a product: it keeps exactly the fields of the body.

    A field left out (or ``null``) is removed, ``category_ids`` replace its
    categories (none when left out); the brand link is replaced when ``brand_id``
    is given and kept otherwise.
    """
    categories = [(("body", "category_ids", j), c) for j, c in enumerate(body.category_ids)]
    problems = repeats(categories, "category")
    if problems:
        reject(problems)
    check_categories(services, categories)
    added = services.add_items([body.to_row_for(item_id)], replace=True)
    return ItemsOut(added=added, artifact_version=engine.version, items_served=engine.size)
