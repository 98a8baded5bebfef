"""The extra columns of products and users: one dict of graph properties per row.

Typed by the mapping's ``types`` (``int``, ``float``, ``bool``, ``str``);
without a type, CSV cells are texts and JSON / Parquet values keep their type
as far as a graph property can hold it (:func:`graph_value`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from decimal import Decimal

import numpy as np
import pandas as pd
from pandas.api.types import is_object_dtype, is_string_dtype

from kgrec.loaders.checks import RowChecks
from kgrec.loaders.constants import NOT_FINITE, READER_COLUMNS
from kgrec.loaders.mapping import MappingSection


def attributes(
    frame: pd.DataFrame,
    checks: RowChecks,
    section: MappingSection,
    fields: Iterable[str],
    max_text_chars: int,
) -> pd.Series:
    """Extra columns kept as a dict per row (typed by the mapping's ``types``).

    Every kept column of the chunk is a key of every row's dict, None for an
    empty cell (the graph removes that property); a column the file lacks is no
    key (the graph leaves that property as it is).

    Args:
        frame: the chunk, renamed.
        checks: the chunk's checks (a cell that does not convert rejects its row).
        section: the file's mapping section (``keep``, ``ignore``, ``types``).
        fields: the entity's fields (not attributes).
        max_text_chars: the longest text kept.
    """
    core = set(fields) | set(READER_COLUMNS) | section.ignored
    keep = section.kept
    names = [c for c in frame.columns if c not in core and (keep is None or c in keep)]
    types = section.typed
    typed: dict[str, pd.Series] = {}
    for name in names:
        kind = types.get(name)
        if kind == "int":
            typed[name] = checks.integer(name).astype(object)
        elif kind == "float":
            typed[name] = checks.number(name).astype(object)
        elif kind == "bool":
            typed[name] = checks.boolean(name).astype(object)
        elif kind == "str":
            typed[name] = checks.text(name, required=False, limit=max_text_chars)
        else:
            typed[name] = _untyped(frame[name], name, checks, max_text_chars)
    if not typed:
        return pd.Series([{}] * len(frame), index=frame.index, dtype=object)
    table = pd.DataFrame(typed, index=frame.index)
    table = table.astype(object).where(table.notna(), None)
    records = table.to_dict("records")
    cleaned = [{k: None if v is None else plain(v) for k, v in r.items()} for r in records]
    return pd.Series(cleaned, index=frame.index, dtype=object)


def _untyped(column: pd.Series, name: str, checks: RowChecks, max_text_chars: int) -> pd.Series:
    """An attribute without a type: texts checked as texts, other values as graph values.

    Texts are stripped (blank = missing) and at most ``max_text_chars`` long;
    a number that is not finite rejects its row; other values go through
    :func:`graph_value`.
    """
    cells = column.astype(object)
    infinite = cells.map(lambda v: isinstance(v, float | np.floating) and not math.isfinite(v))
    infinite &= cells.notna()
    checks.reject(infinite, name, NOT_FINITE + ": " + cells.astype(str))
    if not (is_string_dtype(column.dtype) or is_object_dtype(column.dtype)):
        return cells
    is_text = cells.map(lambda v: isinstance(v, str))
    texts = checks.text(name, required=False, limit=max_text_chars, values=cells.where(is_text))
    # not Series.map, which makes ints with a None a float column (2**53 + 1 rounded)
    values = pd.Series([graph_value(v) for v in cells.tolist()], index=cells.index, dtype=object)
    return values.where(~is_text, texts)


def graph_value(value: object) -> object:
    """A JSON or Parquet value as a graph property can hold it.

    Scalars as they are; a list of one plain type (texts, booleans, or numbers,
    ints and floats together as floats) as a list; anything else (an object, a
    nested list, a list holding nulls or several types) as its JSON text.
    """
    value = plain(value)
    if isinstance(value, list):
        items = [plain(v) for v in value]
        kinds = {type(v) for v in items}
        if len(kinds) <= 1 and kinds <= {str, bool, int, float}:
            return items
        if kinds == {int, float}:
            return [float(v) for v in items if isinstance(v, int | float)]
        return json.dumps(items, sort_keys=True, default=_jsonable)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=_jsonable)
    return value


def plain(value: object) -> object:
    """Turn numpy scalars and arrays, and decimals, into Python values.

    Bolt takes only plain values: a Parquet ``decimal`` becomes a float.
    """
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _jsonable(value: object) -> object:
    """What :func:`json.dumps` cannot write itself: numpy values, else the text."""
    out = plain(value)
    return str(out) if out is value else out
