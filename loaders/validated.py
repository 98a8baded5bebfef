"""The outcome of validating one chunk."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass
class ValidatedChunk:
    """Accepted rows as typed records, rejected rows with their reasons.

    Attributes:
        records: accepted rows, renamed to kgrec fields and typed (index = the
            rows' position in the file).
        rejects: rejected rows as they were read, plus ``file, row, column, reason``.
        duplicates: rows dropped because an identical row with the same id came
            earlier in the file (they are reported as unchanged).
        categories: category rows a product chunk names by path (written first).
        carried: the fields the chunk's file carries (its renamed columns; a
            product file with ``category_path`` carries ``category_ids``): a write
            sets only these, so a column the file lacks leaves the graph as it is.
    """

    records: pd.DataFrame
    rejects: pd.DataFrame
    duplicates: int = 0
    categories: list[dict[str, object]] = field(default_factory=list)
    carried: frozenset[str] = frozenset()
