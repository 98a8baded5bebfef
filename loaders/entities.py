"""The knowledge-graph entities that triples and links name, written as a side effect.

An entity is written only with what a row gives: a kind or name cell with a
value sets that property, and no cell ever removes one (an empty cell, or a
file without the column, leaves the entity's kind and name as they are; so does
``--replace``, which applies to the nodes a file is about, not to entities).
A new entity (in neither the graph nor an earlier chunk of this import) gets the
default kind of its first mention: ``entity`` for heads and links, the
relation for tails.

Each entity is counted once per import (its first mention). A later mention
that gives a new kind or name rewrites the entity; when that turns an entity
counted as unchanged into a changed one, the counts move it to updated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kgrec.graph import EntityRow, GraphStore
from kgrec.loaders.counts import EntityCounts
from kgrec.loaders.rows import EntityMention
from kgrec.typing import ENTITY, ID, KIND, NAME

_Given = tuple[str | None, str | None]  # (kind, name)
_Merged = tuple[str | None, str | None, str]  # (kind, name, default kind)


class EntityWriter:
    """Writes the entities of one pass over the sources (merge only, never replace).

    Args:
        store: the graph (asked which entities exist and their kind and name).
        write: False for a dry run or ``--strict``'s checking pass (only counts).
    """

    def __init__(self, store: GraphStore, *, write: bool) -> None:
        self._store = store
        self._write = write
        self._values: dict[str, _Given] = {}  # id -> kind, name as the graph now has them
        self._untouched: set[str] = set()  # existed before, counted unchanged so far

    def add(self, mentions: Sequence[EntityMention], counts: EntityCounts) -> None:
        """Write the entities one chunk names; count those this import had not seen."""
        merged = _merge(mentions)
        first = [i for i in merged if i not in self._values]
        counts.rows += len(first)
        counts.accepted += len(first)
        if not self._write:
            self._values.update((i, merged[i][:2]) for i in first)
            return
        self._first(first, merged, counts)
        self._again([i for i in merged if i not in first], merged, counts)

    def _first(
        self,
        ids: list[str],
        merged: Mapping[str, _Merged],
        counts: EntityCounts,
    ) -> None:
        """Create the new entities, merge what the rows give into the existing ones."""
        if not ids:
            return
        before = self._store.nodes_by_id(ENTITY, ids)
        rows: list[EntityRow] = []
        for entity_id in ids:
            kind, name, default = merged[entity_id]
            node = before.get(entity_id)
            row: EntityRow = {ID: entity_id}
            if node is None or kind is not None:
                row[KIND] = kind or default
            if name is not None:
                row[NAME] = name
            rows.append(row)
            if node is None:
                self._values[entity_id] = (row.get(KIND), name)
                continue
            current = (node.get(KIND), node.get(NAME))
            self._values[entity_id] = (kind or current[0], name or current[1])
            if self._values[entity_id] == current:
                self._untouched.add(entity_id)
        counts.add_upsert(self._store.upsert_entities(rows))

    def _again(
        self,
        ids: list[str],
        merged: Mapping[str, _Merged],
        counts: EntityCounts,
    ) -> None:
        """Rewrite entities written earlier in this import when a row gives new values."""
        rows: list[EntityRow] = []
        for entity_id in ids:
            kind, name, _ = merged[entity_id]
            old_kind, old_name = self._values[entity_id]
            row: EntityRow = {ID: entity_id}
            if kind is not None and kind != old_kind:
                row[KIND] = kind
            if name is not None and name != old_name:
                row[NAME] = name
            if len(row) == 1:
                continue
            rows.append(row)
            self._values[entity_id] = (kind or old_kind, name or old_name)
            if entity_id in self._untouched:
                self._untouched.discard(entity_id)
                counts.unchanged -= 1
                counts.updated += 1
        if rows:
            self._store.upsert_entities(rows)


def _merge(mentions: Sequence[EntityMention]) -> dict[str, _Merged]:
    """Collect the entities named, in first-mention order.

    Per entity: the last kind and name given, and the default kind of its first
    mention.
    """
    merged: dict[str, _Merged] = {}
    for m in mentions:
        seen = merged.get(m.id)
        if seen is None:
            merged[m.id] = (m.kind, m.name, m.default_kind)
        else:
            merged[m.id] = (m.kind or seen[0], m.name or seen[1], seen[2])
    return merged
