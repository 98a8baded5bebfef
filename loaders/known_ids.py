"""Which user and product ids an interaction or link may refer to."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from kgrec.graph import GraphStore


class KnownIds:
    """Ids accepted earlier in this import, plus ids found in the graph (cached).

    Args:
        store: the graph to ask about ids this import has not seen; None = no graph
            (every id must come from the import itself).
    """

    def __init__(self, store: GraphStore | None) -> None:
        self._store = store
        self._known: dict[str, set[str]] = {}
        self._absent: dict[str, set[str]] = {}

    def add(self, label: str, ids: Iterable[str]) -> None:
        """Record ids of ``label`` accepted by this import."""
        self._known.setdefault(label, set()).update(ids)
        self._absent.get(label, set()).difference_update(self._known[label])

    def unknown(self, label: str, ids: pd.Series) -> pd.Series:
        """A mask of the ids (missing cells excluded) that exist neither here nor in the graph."""
        known = self._known.setdefault(label, set())
        absent = self._absent.setdefault(label, set())
        present = ids.notna()
        unique = set(ids[present].unique().tolist())
        ask = sorted(unique - known - absent)
        if ask:
            found = self._store.existing_ids(label, ask) if self._store is not None else set()
            known.update(found)
            absent.update(set(ask) - found)
        return present & ~ids.isin(known)
