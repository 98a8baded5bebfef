"""Plain-text aligned tables for the command line (no dependency beyond the stdlib)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Number
from typing import Any

import pandas as pd

RULE = "-"
GAP = "  "


def cell(value: Any, digits: int = 3) -> str:
    """Format one value as table text.

    Floats get ``digits`` decimals, None and NaN are empty, lists are joined with
    commas.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.{digits}f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(cell(v, digits) for v in value)
    return " ".join(str(value).split())  # one line: no newline or tab inside a cell


def _numeric(value: Any) -> bool:
    return isinstance(value, Number) and not isinstance(value, bool)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], digits: int = 3) -> str:
    """An aligned table: a header line, a rule, one line per row.

    Numeric columns (every non-empty value a number) are right-aligned, the
    others left-aligned; the last column is not padded, so a long text there
    (a sentence) does not widen the lines above it.
    """
    texts = [[cell(v, digits) for v in row] for row in rows]
    width = [len(h) for h in headers]
    for row in texts:
        for j, text in enumerate(row):
            width[j] = max(width[j], len(text))
    right = [
        bool(rows) and all(_numeric(r[j]) or r[j] is None for r in rows)
        for j in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = []
        for j, text in enumerate(values):
            last = j == len(values) - 1
            if right[j]:
                parts.append(text.rjust(width[j]))
            else:
                parts.append(text if last else text.ljust(width[j]))
        return GAP.join(parts).rstrip()

    rule = GAP.join(RULE * w for w in width).rstrip()
    return "\n".join([line(list(headers)), rule, *(line(r) for r in texts)])


def frame_table(frame: pd.DataFrame, digits: int = 3) -> str:
    """A DataFrame (a Cypher result) as :func:`table`; ``(no rows)`` when empty."""
    if frame.empty:
        return "(no rows)"
    rows = [[None if _missing(v) else v for v in row] for row in frame.itertuples(index=False)]
    return table([str(c) for c in frame.columns], rows, digits)


def _missing(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
