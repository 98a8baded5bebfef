"""Validated records -> the row dicts :class:`graph.GraphStore` writes.

A node row carries exactly the fields its file carries: a core field or kept
attribute the file has is a key (None for an empty cell, which removes that
property in the graph), one the file lacks is no key (the graph leaves that
property as it is). See :mod:`graph.records` for the merge and replace rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, cast

import pandas as pd

from graph import (
    BrandRow,
    CategoryRow,
    EntityLinkRow,
    EntityRow,
    InteractionRow,
    ProductRow,
    TripleRow,
    UserRow,
)
from kgrec.typing import (
    ATTRS,
    BRAND_ID,
    CATEGORY_IDS,
    CURRENCY,
    DESCRIPTION,
    ENTITY_ID,
    HEAD,
    ID,
    IMAGE_URL,
    IN_STOCK,
    KIND,
    NAME,
    PARENT_ID,
    PATH,
    PRICE,
    PRODUCT_ID,
    RELATION,
    TAIL,
    TITLE,
    TS,
    USER_ID,
    VALUE,
    WEIGHT,
)
from loaders.constants import (
    BRAND_NAME,
    DEFAULT_ENTITY_KIND,
    DEFAULT_LINK_RELATION,
    HEAD_KIND,
    HEAD_NAME,
    TAIL_KIND,
    TAIL_NAME,
)

PRODUCT_FIELDS: Final = (
    TITLE, DESCRIPTION, PRICE, CURRENCY, IN_STOCK, IMAGE_URL, BRAND_ID, BRAND_NAME, CATEGORY_IDS,
)  # fmt: skip


def _none(value: object) -> Any:
    """pandas missing values (NaN, NA, None) as None; numpy scalars as Python."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and value != value:
        return None
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, (list, dict)) else value


def records_of(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Rows as dicts of plain values (missing = None) over the columns the frame has."""
    present = [c for c in columns if c in frame]
    table = frame[present].astype(object)
    table = table.where(table.notna(), None)
    return [
        {k: _none(v) for k, v in zip(present, row, strict=True)}
        for row in table.itertuples(index=False, name=None)
    ]


def product_rows(records: pd.DataFrame, carried: frozenset[str]) -> list[ProductRow]:
    """Products: the id, the core fields the file carries, and the kept attributes."""
    columns = [ID, *(f for f in PRODUCT_FIELDS if f in carried), ATTRS]
    return cast(list[ProductRow], records_of(records, columns))


def user_rows(records: pd.DataFrame) -> list[UserRow]:
    """Users: the id and the kept attributes."""
    return cast(list[UserRow], records_of(records, [ID, ATTRS]))


def brand_rows(records: pd.DataFrame) -> list[BrandRow]:
    """Brands: id and name (the id when the file has no name)."""
    return cast(list[BrandRow], records_of(records, [ID, NAME]))


def category_rows(records: pd.DataFrame, carried: frozenset[str]) -> list[CategoryRow]:
    """Categories: id, name, parent; ``path`` only from a file with paths."""
    rows = records_of(records, [ID, NAME, PARENT_ID, PATH])
    if PATH not in carried:
        for row in rows:
            if row.get(PATH) is None:
                row.pop(PATH, None)
    return cast(list[CategoryRow], rows)


def interaction_rows(records: pd.DataFrame) -> list[InteractionRow]:
    """Interactions as validated."""
    rows = records_of(records, [USER_ID, PRODUCT_ID, KIND, TS, VALUE, WEIGHT])
    return cast(list[InteractionRow], rows)


def _entity(entity_id: str, kind: str, name: str | None, carried: bool) -> EntityRow:
    entity: EntityRow = {"id": entity_id, "kind": kind}
    if carried:  # the file has the name column: an empty cell removes an old name
        entity["name"] = name
    return entity


def triple_rows(
    records: pd.DataFrame, carried: frozenset[str]
) -> tuple[list[EntityRow], list[TripleRow]]:
    """Knowledge-graph triples: the head and tail entities, and the triples."""
    rows = records_of(records, [HEAD, RELATION, TAIL, HEAD_KIND, TAIL_KIND, HEAD_NAME, TAIL_NAME])
    head_named, tail_named = HEAD_NAME in carried, TAIL_NAME in carried
    entities: list[EntityRow] = []
    for r in rows:
        head_kind = r.get(HEAD_KIND) or DEFAULT_ENTITY_KIND
        entities.append(_entity(r[HEAD], head_kind, r.get(HEAD_NAME), head_named))
        tail_kind = r.get(TAIL_KIND) or r[RELATION]
        entities.append(_entity(r[TAIL], tail_kind, r.get(TAIL_NAME), tail_named))
    triples = [cast(TripleRow, {HEAD: r[HEAD], RELATION: r[RELATION], TAIL: r[TAIL]}) for r in rows]
    return entities, triples


def link_rows(
    records: pd.DataFrame, carried: frozenset[str]
) -> tuple[list[EntityRow], list[EntityLinkRow]]:
    """Product -> entity links: the entities, and the links."""
    rows = records_of(records, [PRODUCT_ID, ENTITY_ID, RELATION, KIND, NAME])
    named = NAME in carried
    entities = [
        _entity(r[ENTITY_ID], r.get(KIND) or DEFAULT_ENTITY_KIND, r.get(NAME), named) for r in rows
    ]
    links = [
        cast(
            EntityLinkRow,
            {
                PRODUCT_ID: r[PRODUCT_ID],
                ENTITY_ID: r[ENTITY_ID],
                RELATION: r.get(RELATION) or DEFAULT_LINK_RELATION,
            },
        )
        for r in rows
    ]
    return entities, links
