"""Node upserts: merge (or replace) a row's properties and count what really changed.

:class:`kgrec.graph.GraphStore` turns each row into a :class:`NodeRow` (the properties the
row carries, None meaning "remove", and the links it sets), reads the batch's
existing nodes in the write transaction (``kgrec.graph._queries.NODE_STATE``) and asks
:func:`plan` what to write: only created and changed nodes, each with only its
changed keys (None for keys to remove), and the rows whose links differ from the
graph's. The counts come from that comparison, not from anything kgrec stored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from kgrec.graph.records import (
    BrandRow,
    CategoryRow,
    EntityRow,
    ProductRow,
    UpsertCounts,
    UserRow,
)
from kgrec.typing import CONTENT_HASH, ID, PRODUCT_PROPERTIES

# Link names: the columns of graph._queries.NODE_STATE holding a node's current targets.
BRAND_LINK: Final = "brand"
CATEGORY_LINK: Final = "categories"
PARENT_LINK: Final = "parent"
# Properties older kgrec versions wrote: removed from every node an upsert writes,
# never counted as a change or a removed property, and ignored when a row carries them.
LEGACY_KEYS: Final = frozenset({CONTENT_HASH})


@dataclass
class NodeRow:
    """One node to upsert.

    Attributes:
        id: the node id.
        props: the properties the row carries; None removes that property.
        links: link name -> the target ids the row sets (only links the row gives).
        source: the row as given (product rows: ``brand_name`` for new brands).
    """

    id: str
    props: dict[str, Any]
    links: dict[str, list[str]] = field(default_factory=dict)
    source: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class BatchPlan:
    """What one batch writes.

    ``writes`` rows {id, props} for ``UPSERT_NODES``, ``relink`` the rows whose links must be
    (re)written, and the batch's counts.
    """

    writes: list[dict[str, Any]]
    relink: list[NodeRow]
    counts: UpsertCounts


def _plain(value: Any) -> Any:
    """A Bolt-ready plain value: numpy scalars and arrays, tuples become Python ones."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _props(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in values.items() if k != ID and k not in LEGACY_KEYS}


def _pick(row: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """The keys of ``keys`` the row carries (None values included)."""
    return {k: row[k] for k in keys if k in row}


def product_row(row: ProductRow) -> NodeRow:
    """Core fields the row carries, then its ``attrs``; brand and categories when given."""
    props = _pick(row, PRODUCT_PROPERTIES)
    props.update(row.get("attrs") or {})
    links: dict[str, list[str]] = {}
    brand = row.get("brand_id")
    if brand:
        links[BRAND_LINK] = [brand]
    categories = row.get("category_ids")
    if categories is not None:
        links[CATEGORY_LINK] = list(dict.fromkeys(categories))
    return NodeRow(row["id"], _props(props), links, row)


def brand_row(row: BrandRow) -> NodeRow:
    """The name when given (a brand's name is never removed: None counts as absent)."""
    name = row.get("name")
    return NodeRow(row["id"], _props({} if name is None else {"name": name}))


def category_row(row: CategoryRow) -> NodeRow:
    """Name and path when carried; the parent link when ``parent_id`` is given."""
    props = _props(_pick(row, ["name", "path"]))
    parent = row.get("parent_id")
    return NodeRow(row["id"], props, {PARENT_LINK: [parent]} if parent else {}, row)


def user_row(row: UserRow) -> NodeRow:
    return NodeRow(row["id"], _props(row.get("attrs") or {}))


def entity_row(row: EntityRow) -> NodeRow:
    return NodeRow(row["id"], _props(_pick(row, ["kind", "name"])))


def combine(rows: Iterable[NodeRow], *, replace: bool) -> list[NodeRow]:
    """One row per id, in first-seen order, equal to applying the rows one after another.

    Merge mode: a later row's properties and links override an earlier row's, keys
    only the earlier row carries are kept. Replace mode: the last row wins.
    """
    out: dict[str, NodeRow] = {}
    for row in rows:
        first = out.get(row.id)
        if first is None or replace:
            out[row.id] = NodeRow(row.id, dict(row.props), dict(row.links), row.source)
        else:
            first.props.update(row.props)
            first.links.update(row.links)
            first.source = {**first.source, **row.source}
    return list(out.values())


def same(a: Any, b: Any) -> bool:
    """Value equality as the graph stores it.

    Bools are not numbers, NaN equals NaN, lists compare element by element.
    """
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def diff(current: Mapping[str, Any], props: Mapping[str, Any], *, replace: bool) -> dict[str, Any]:
    """The changes that turn ``current`` into the row's properties (None = remove).

    Only real changes appear: a new or different value, or the removal of a
    property the node has (legacy keys and ``id`` are left out).
    """
    changes: dict[str, Any] = {}
    for key, value in props.items():
        if value is None:
            if key in current:
                changes[key] = None
        elif key not in current or not same(current[key], value):
            changes[key] = value
    if replace:
        for key in current:
            if key != ID and key not in LEGACY_KEYS and props.get(key) is None:
                changes[key] = None
    return changes


def plan(
    rows: Sequence[NodeRow], state: Mapping[str, Mapping[str, Any]], *, replace: bool
) -> BatchPlan:
    """Compare a batch with its nodes' current state and decide what to write.

    Args:
        rows: the batch, one row per id (see :func:`combine`).
        state: id -> a ``NODE_STATE`` record (``props`` and the link columns) of
            the nodes that exist.
        replace: remove every property the row does not carry (non-None).
    """
    writes: list[dict[str, Any]] = []
    relink: list[NodeRow] = []
    counts = UpsertCounts()
    for row in rows:
        node = state.get(row.id)
        current: Mapping[str, Any] = node["props"] if node is not None else {}
        relinked = any(
            set(wanted) != set((node or {}).get(name) or []) for name, wanted in row.links.items()
        )
        if relinked:
            relink.append(row)
        if node is None:
            counts.created += 1
            writes.append(
                {"id": row.id, "props": {k: v for k, v in row.props.items() if v is not None}}
            )
            continue
        changes = diff(current, row.props, replace=replace)
        if not changes and not relinked:
            counts.unchanged += 1
            continue
        counts.updated += 1
        counts.removed += sum(1 for v in changes.values() if v is None)
        changes.update((k, None) for k in LEGACY_KEYS if k in current)
        if changes:
            writes.append({"id": row.id, "props": changes})
    return BatchPlan(writes, relink, counts)
