"""Validated records -> the row dicts :class:`kgrec.graph.GraphStore` writes.

A node row carries exactly the fields its file carries: a core field or kept
attribute the file has is a key (None for an empty cell, which removes that
property in the graph), one the file lacks is no key (the graph leaves that
property as it is); a key a JSON Lines row lacks is no key of that row. See
:mod:`kgrec.graph.records` for the merge and replace rules.

Exceptions, for properties a node cannot do without or that many rows repeat:
a brand's or category's name and an entity's kind and name are set only by a
cell with a value (an empty cell leaves them); a new brand or category is named
by its id, and a new entity gets a default kind (:class:`EntityMention`,
:mod:`kgrec.loaders.entities`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

import pandas as pd

from kgrec.graph import (
    BrandRow,
    CategoryRow,
    EntityLinkRow,
    InteractionRow,
    ProductRow,
    TripleRow,
    UserRow,
)
from kgrec.loaders.constants import (
    ABSENT,
    BRAND_NAME,
    DEFAULT_ENTITY_KIND,
    DEFAULT_LINK_RELATION,
    HEAD_KIND,
    HEAD_NAME,
    TAIL_KIND,
    TAIL_NAME,
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

PRODUCT_FIELDS: Final = (
    TITLE, DESCRIPTION, PRICE, CURRENCY, IN_STOCK, IMAGE_URL, BRAND_ID, BRAND_NAME, CATEGORY_IDS,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class EntityMention:
    """An entity a triple or link row names.

    Attributes:
        id: the entity id.
        kind: the kind the row gives (None: no kind column, or an empty cell).
        name: the name the row gives (None: no name column, or an empty cell).
        default_kind: the kind of a new entity when no row of the import gives one.
    """

    id: str
    kind: str | None
    name: str | None
    default_kind: str


def _none(value: object) -> Any:
    """Turn pandas missing values (NaN, NA, None) into None and numpy scalars into Python."""
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


def _without_absent(rows: list[dict[str, Any]], records: pd.DataFrame) -> list[dict[str, Any]]:
    """Drop from each row (and its attributes) the keys its JSON Lines row lacks."""
    if ABSENT not in records:
        return rows
    for row, absent in zip(rows, records[ABSENT].tolist(), strict=True):
        if not isinstance(absent, tuple):
            continue
        for key in absent:
            row.pop(key, None)
        attrs = row.get(ATTRS)
        if attrs:
            row[ATTRS] = {k: v for k, v in attrs.items() if k not in absent}
    return rows


def product_rows(records: pd.DataFrame, carried: frozenset[str]) -> list[ProductRow]:
    """Build product rows.

    Each holds the id, the core fields the file carries, and the kept attributes
    (less the keys a JSON Lines row lacks).
    """
    columns = [ID, *(f for f in PRODUCT_FIELDS if f in carried), ATTRS]
    return cast(list[ProductRow], _without_absent(records_of(records, columns), records))


def user_rows(records: pd.DataFrame) -> list[UserRow]:
    """Users: the id and the kept attributes (less the keys a JSON Lines row lacks)."""
    return cast(list[UserRow], _without_absent(records_of(records, [ID, ATTRS]), records))


def brand_rows(records: pd.DataFrame) -> list[BrandRow]:
    """Build brand rows: the id, and the name when the row has one.

    An empty cell or a file without names leaves an existing brand's name; a new
    brand is named by its id.
    """
    rows = records_of(records, [ID, NAME])
    for row in rows:
        if row.get(NAME) is None:
            row.pop(NAME, None)
    return cast(list[BrandRow], rows)


def category_rows(records: pd.DataFrame, carried: frozenset[str]) -> list[CategoryRow]:
    """Build category rows: id, parent, and the name when the row has one.

    The name is given or taken from the path; ``path`` comes only from a file with
    paths (less the keys a JSON Lines row lacks).
    """
    rows = _without_absent(records_of(records, [ID, NAME, PARENT_ID, PATH]), records)
    for row in rows:
        if row.get(NAME) is None:
            row.pop(NAME, None)
        if PATH not in carried and row.get(PATH) is None:
            row.pop(PATH, None)
    return cast(list[CategoryRow], rows)


def name_new_by_id(rows: Sequence[CategoryRow], existing: set[str]) -> list[CategoryRow]:
    """Rows without a name: those not in ``existing`` (new nodes) are named by their id."""
    return [r if r.get(NAME) is not None or r[ID] in existing else {**r, NAME: r[ID]} for r in rows]


def interaction_rows(records: pd.DataFrame) -> list[InteractionRow]:
    """Interactions as validated."""
    rows = records_of(records, [USER_ID, PRODUCT_ID, KIND, TS, VALUE, WEIGHT])
    return cast(list[InteractionRow], rows)


def triple_rows(records: pd.DataFrame) -> tuple[list[EntityMention], list[TripleRow]]:
    """Knowledge-graph triples: the head and tail entities they name, and the triples.

    A new head is of kind ``entity`` and a new tail of the kind named by the
    relation, unless the row gives ``head_kind`` / ``tail_kind``.
    """
    rows = records_of(records, [HEAD, RELATION, TAIL, HEAD_KIND, TAIL_KIND, HEAD_NAME, TAIL_NAME])
    entities: list[EntityMention] = []
    for r in rows:
        entities.append(
            EntityMention(r[HEAD], r.get(HEAD_KIND), r.get(HEAD_NAME), DEFAULT_ENTITY_KIND)
        )
        entities.append(EntityMention(r[TAIL], r.get(TAIL_KIND), r.get(TAIL_NAME), r[RELATION]))
    triples = [cast(TripleRow, {HEAD: r[HEAD], RELATION: r[RELATION], TAIL: r[TAIL]}) for r in rows]
    return entities, triples


def link_rows(records: pd.DataFrame) -> tuple[list[EntityMention], list[EntityLinkRow]]:
    """Build product -> entity links and the entities they name.

    New entities are of kind ``entity`` unless the row gives ``kind``.
    """
    rows = records_of(records, [PRODUCT_ID, ENTITY_ID, RELATION, KIND, NAME])
    entities = [
        EntityMention(r[ENTITY_ID], r.get(KIND), r.get(NAME), DEFAULT_ENTITY_KIND) for r in rows
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
