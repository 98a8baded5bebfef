"""Exploration results as plain Python: nodes, relationships and paths made readable.

The driver's ``Record.data()`` turns a relationship into ``(start props, type, end
props)``, and the end nodes' properties are empty unless the query also returned
them, so a relationship lost its own properties and its ends. Here a node is the
dict of its properties (``id`` included); a relationship is
``{"type", "start", "end", "properties"}`` with the kgrec ids of its end nodes,
looked up in the same transaction when the result did not carry those nodes; a
path is the list of its nodes and relationships in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from neo4j import ManagedTransaction
from neo4j.graph import Node, Path, Relationship

from kgrec.graph import _queries as q


def _walk(value: Any) -> Iterable[Any]:
    """Every node, relationship and path inside ``value`` (lists and maps searched)."""
    if isinstance(value, (Node, Relationship)):
        yield value
    elif isinstance(value, Path):
        yield from value.nodes
        yield from value.relationships
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _walk(item)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _walk(item)


def end_node_ids(tx: ManagedTransaction, rows: list[list[Any]]) -> dict[str, Any]:
    """Kgrec id per element id of every node the rows hold or their relationships end at."""
    ids: dict[str, Any] = {}
    wanted: set[str] = set()
    for row in rows:
        for item in _walk(row):
            if isinstance(item, Node):
                if "id" in item:
                    ids[item.element_id] = item["id"]
            else:
                for end in (item.start_node, item.end_node):
                    if end is not None:
                        wanted.add(end.element_id)
    missing = sorted(wanted - set(ids))
    if missing:
        for record in tx.run(q.NODE_IDS_BY_ELEMENT_ID, element_ids=missing):
            ids[record["element_id"]] = record["id"]
    return ids


def plain(value: Any, ids: Mapping[str, Any]) -> Any:
    """``value`` with nodes, relationships and paths as dicts and lists (see the module docs)."""
    if isinstance(value, Node):
        return dict(value.items())
    if isinstance(value, Relationship):
        start, end = value.start_node, value.end_node
        return {
            "type": value.type,
            "start": ids.get(start.element_id) if start is not None else None,
            "end": ids.get(end.element_id) if end is not None else None,
            "properties": dict(value.items()),
        }
    if isinstance(value, Path):
        items: list[Any] = [plain(value.start_node, ids)]
        for rel, node in zip(value.relationships, value.nodes[1:], strict=True):
            items += [plain(rel, ids), plain(node, ids)]
        return items
    if isinstance(value, (list, tuple)):
        return [plain(v, ids) for v in value]
    if isinstance(value, Mapping):
        return {k: plain(v, ids) for k, v in value.items()}
    return value
