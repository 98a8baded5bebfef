"""Category paths and trees: ``Shoes > Running`` strings, id/parent rows, separator hints.

A path string is split on the category separator (the mapping section's
``category_separator``, else ``KGREC_LOADERS__CATEGORY_SEPARATOR``). A value holding no
configured separator but another likely one (``Shoes / Running`` under ``" > "``)
would become one flat category; :class:`SeparatorHints` counts such values so the
report can say so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Final

import pandas as pd

from kgrec.graph import GraphStore
from kgrec.loaders.constants import (
    ABSENT,
    CATEGORY_CYCLE,
    UNKNOWN_PARENT,
)
from kgrec.loaders.rejects import rejected_rows
from kgrec.loaders.validated import ValidatedChunk
from kgrec.typing import CATEGORY, ID, NAME, PARENT_ID, PATH

# Separators a category value may use, most specific first.
LIKELY_SEPARATORS: Final = (" > ", " / ", " | ", " » ", " \\ ", ">", "/", "|", "»", "\\")


def slug(text: str) -> str:
    """A category id from a path part: lower case, runs of spaces as ``-``."""
    return "-".join(text.strip().lower().split())


def trim_path(path: str, separator: str) -> str:
    """``path`` without spaces and separators at either end.

    A separator there is taken with or without its spaces (``" > "`` or ``">"``):
    ``Shoes > Running >`` and ``> Shoes > Running`` are ``Shoes > Running``, and a
    text holding only separators is empty.
    """
    ends = "|".join([r"\s", *([re.escape(separator.strip())] if separator.strip() else [])])
    return re.sub(rf"^(?:{ends})+|(?:{ends})+$", "", path)


def category_chain(path: str, separator: str) -> list[dict[str, Any]]:
    """The category rows of a path string, root first: ids are the slugs joined by ``/``.

    Each part is trimmed (:func:`trim_path`: ``Shoes > Running >`` names two
    categories, not ``Running >``); empty parts are dropped.
    """
    parts = [part for p in path.split(separator) if (part := trim_path(p, separator))]
    rows: list[dict[str, Any]] = []
    parent: str | None = None
    for depth in range(len(parts)):
        cid = "/".join(slug(p) for p in parts[: depth + 1])
        rows.append(
            {
                ID: cid,
                NAME: parts[depth],
                PARENT_ID: parent,
                PATH: separator.join(parts[: depth + 1]),
            }
        )
        parent = cid
    return rows


def leaf(path: str, separator: str, *, name: bool = False) -> str | None:
    """The id (or name) of a path's last category."""
    chain = category_chain(path, separator)
    if not chain:
        return None
    return str(chain[-1][NAME if name else ID])


class SeparatorHints:
    """Count category values that hold a likely separator but not the configured one.

    Args:
        column: the column the values come from (for the message).
        separator: the configured category separator.
        exclude: a separator the values are split on before (the list separator).
    """

    def __init__(self, column: str, separator: str, exclude: str | None = None) -> None:
        self.column = column
        self.separator = separator
        self.candidates = [
            s
            for s in LIKELY_SEPARATORS
            if s.strip() != separator.strip() and (exclude is None or exclude not in s)
        ]
        self.values = 0
        self.hits: dict[str, int] = {}
        self.examples: dict[str, str] = {}

    def observe(self, values: Iterable[object]) -> None:
        """Look at category values (missing ones are skipped)."""
        for value in values:
            if not isinstance(value, str) or not value:
                continue
            self.values += 1
            if self.separator in value:
                continue
            found = next((s for s in self.candidates if s in value), None)
            if found is not None:
                self.hits[found] = self.hits.get(found, 0) + 1
                self.examples.setdefault(found, value)

    def note(self, file_name: str, section: str) -> str | None:
        """A report line when some values look split by another separator, else None."""
        if not self.hits:
            return None
        likely = max(self.hits, key=lambda s: self.hits[s])
        return (
            f"{file_name}: {self.hits[likely]:,} of {self.values:,} {self.column} values "
            f"contain {likely!r} (e.g. {self.examples[likely]!r}) but not the category "
            f"separator {self.separator!r}, so each became one flat category; if {likely!r} "
            f'separates levels, set category_separator = "{likely}" in the mapping\'s '
            f"[{section}] section (or KGREC_LOADERS__CATEGORY_SEPARATOR)"
        )


def path_chains(paths: pd.Series, separator: str, list_separator: str) -> pd.Series:
    """Per cell the chains (:func:`category_chain`) of its ``list_separator``-joined paths.

    A missing cell, or one naming no category (only spaces and separators), is
    None: it leaves a product's category links as they are.
    """

    def chains(cell: object) -> list[list[dict[str, Any]]] | None:
        if not isinstance(cell, str):
            return None
        found = [c for one in cell.split(list_separator) if (c := category_chain(one, separator))]
        return found or None

    return pd.Series([chains(c) for c in paths.tolist()], index=paths.index, dtype=object)


def chain_categories(chains: Iterable[list[list[dict[str, Any]]] | None]) -> list[dict[str, Any]]:
    """Every category row the chains name, each id once (root first per chain)."""
    rows: dict[str, dict[str, Any]] = {}
    for cell in chains:
        for chain in cell or []:
            rows.update((str(r[ID]), r) for r in chain)
    return list(rows.values())


def category_tree(
    parts: Sequence[ValidatedChunk],
    raw: pd.DataFrame,
    store: GraphStore,
    file_name: str,
    separator: str,
) -> ValidatedChunk:
    """One whole category file's rows: expand paths, check parents and cycles.

    A row's path creates its ancestors (slug ids) unless the row names its
    ``parent_id``: then the parent is that one and the path is only its property.

    Args:
        parts: the file's validated chunks.
        raw: the file's rows as read (for the rejects of unknown parents and cycles).
        store: asked whether parents the file does not hold exist.
        file_name: for the rejects.
        separator: the category separator of path strings.
    """
    records = pd.concat([p.records for p in parts]) if parts else pd.DataFrame()
    reject_frames = [p.rejects for p in parts]
    duplicates = sum(p.duplicates for p in parts)
    carried = frozenset().union(*(p.carried for p in parts)) if parts else frozenset()
    tree: dict[str, dict[str, Any]] = {}
    owner: dict[str, int] = {}  # category id -> index of the row that named it
    columns = [c for c in (ID, NAME, PARENT_ID, PATH, ABSENT) if c in records]
    table = records[columns].astype(object).where(records[columns].notna(), None)
    for index, values in zip(records.index, table.itertuples(index=False), strict=True):
        rec = dict(zip(columns, values, strict=True))
        if rec.get(PATH) and not rec.get(PARENT_ID):  # a parent_id says where the row hangs
            chain = category_chain(str(rec[PATH]), separator)
            if rec.get(ID):
                chain[-1][ID] = rec[ID]
                chain[-1][NAME] = rec[NAME] or chain[-1][NAME]
            for link in chain:
                tree.setdefault(str(link[ID]), link)
                owner.setdefault(str(link[ID]), int(index))
            if rec.get(ID):
                tree[str(rec[ID])] = chain[-1]
        else:
            tree[str(rec[ID])] = rec
            owner[str(rec[ID])] = int(index)
    # Parents must be in the file or the graph; a row under a rejected one goes too.
    in_graph = store.existing_ids(
        CATEGORY, {str(r[PARENT_ID]) for r in tree.values() if r.get(PARENT_ID)} - set(tree)
    )
    bad: dict[int, tuple[str, str]] = {}
    changed = True
    while changed:
        changed = False
        for cid, rec in list(tree.items()):
            parent = rec.get(PARENT_ID)
            if parent and parent not in tree and parent not in in_graph:
                bad.setdefault(owner[cid], (PARENT_ID, f"{UNKNOWN_PARENT}: '{parent}'"))
                del tree[cid]
                changed = True
    above = _graph_ancestors(store, tree)
    for cid in list(tree):
        seen: set[str] = set()
        node: str | None = cid
        while node is not None and node not in seen and (node in tree or node in above):
            seen.add(node)
            node = tree[node].get(PARENT_ID) if node in tree else above[node]
        if node is not None and node in seen:  # a cycle, through the graph's parents too
            for member in seen & tree.keys():
                bad.setdefault(owner[member], (PARENT_ID, f"{CATEGORY_CYCLE}: '{cid}'"))
    if bad:
        for cid in [c for c in tree if owner[c] in bad]:
            del tree[cid]
        idx = sorted(bad)
        reject_frames.append(
            rejected_rows(
                raw.loc[idx], file_name, [bad[i][0] for i in idx], [bad[i][1] for i in idx]
            )
        )
    kept = pd.DataFrame(list(tree.values()), columns=[ID, NAME, PARENT_ID, PATH, ABSENT])
    all_rejects = pd.concat([f for f in reject_frames if len(f)] or [pd.DataFrame()])
    return ValidatedChunk(kept, all_rejects, duplicates, carried=carried)


def _graph_ancestors(store: GraphStore, tree: dict[str, dict[str, Any]]) -> dict[str, str | None]:
    """Category id -> parent id in the graph, for every ancestor of the file's rows it lacks.

    The file's own rows give their parents; above them the graph's links do, up
    to the roots, so a cycle closed through the graph is found.
    """
    above: dict[str, str | None] = {}
    wanted = {str(r[PARENT_ID]) for r in tree.values() if r.get(PARENT_ID)} - tree.keys()
    while wanted:
        found = store.category_parents(wanted)
        above.update(found)
        wanted = {p for p in found.values() if p is not None} - tree.keys() - above.keys()
    return above
