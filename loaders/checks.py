"""Vectorised column checks: each marks rows rejected with a column and a reason.

A row keeps the first reason found for it. Converters return the typed column and
leave rejected cells missing.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from pandas.api.types import is_datetime64_any_dtype

from kgrec.loaders.constants import (
    MISSING,
    NOT_A_BOOLEAN,
    NOT_A_NUMBER,
    NOT_A_TIMESTAMP,
    NOT_AN_INTEGER,
    NOT_FINITE,
    OUT_OF_RANGE,
    TOO_LONG,
)
from kgrec.pseudonym import Pseudonymiser
from kgrec.typing import MAX_TS

_TRUE = ("true", "1", "yes", "y", "t")
_FALSE = ("false", "0", "no", "n", "f")
_PREVIEW_CHARS = 40
_INT64_LIMIT = 2.0**63  # integers must lie strictly inside +-this
_AFTER_9999 = (
    " is after the year 9999 as Unix seconds (milliseconds? divide by 1000, or write ISO 8601)"
)
_INT64_MAX = 2**63  # the same, exactly: an int64 holds -2**63 .. 2**63 - 1
_INTEGER_TEXT = re.compile(r"[+-]?\d+")


def _exact_integer(value: object) -> int | None:
    """``value`` as an exact int when it is written as an integer (not a bool); else None."""
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _preview(values: pd.Series) -> pd.Series:
    text = values.astype(str)
    long = text.str.len() > _PREVIEW_CHARS
    text = text.where(~long, text.str.slice(0, _PREVIEW_CHARS) + "...")
    return "'" + text + "'"


class RowChecks:
    """Rejections of one chunk: per row the column and reason of its first failure."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.column = pd.Series(pd.NA, index=frame.index, dtype=object)
        self.reason = pd.Series(pd.NA, index=frame.index, dtype=object)

    @property
    def ok(self) -> pd.Series:
        """Rows with no rejection so far."""
        return self.reason.isna()

    def reject(self, mask: pd.Series, column: str, reason: str | pd.Series) -> None:
        """Reject the rows of ``mask`` that have no reason yet."""
        new = mask.fillna(False).astype(bool) & self.ok
        if not new.any():
            return
        self.column[new] = column
        self.reason[new] = reason[new] if isinstance(reason, pd.Series) else reason

    # Converters ------------------------------------------------------------------
    def text(
        self,
        column: str,
        *,
        required: bool,
        limit: int | None = None,
        values: pd.Series | None = None,
    ) -> pd.Series:
        """Read a string column, stripped; an empty cell is missing.

        Missing cells of a required column (every row, when the chunk lacks the
        column: a JSON Lines chunk without that key) and texts longer than
        ``limit`` characters are rejected. ``values`` replaces the frame's column
        (the reasons still name ``column``).
        """
        if values is None and column not in self.frame:
            if required:
                self.reject_all(column)
            return pd.Series(pd.NA, index=self.frame.index, dtype=object)
        raw = self.frame[column] if values is None else values
        present = raw.notna()
        out = raw.astype(object).where(present, None)
        if raw.dtype != object or not bool(raw[present].map(lambda v: isinstance(v, str)).all()):
            out = out.map(lambda v: None if v is None else _scalar_str(v))
        text = pd.Series(out, index=self.frame.index, dtype=object).str.strip()
        text = text.where(text.str.len() > 0)
        if required:
            self.reject(text.isna(), column, MISSING)
        if limit is not None:
            lengths = text.str.len()
            self.reject(lengths > limit, column, f"{TOO_LONG}: more than {limit} characters")
        return text

    def number(self, column: str, *, required: bool = False) -> pd.Series:
        """A float column; cells that are not numbers (or missing, when required) are rejected."""
        if column not in self.frame:
            if required:
                self.reject_all(column)
            return pd.Series(np.nan, index=self.frame.index, dtype=float)
        raw = self.frame[column]
        present = raw.notna() & raw.astype(str).str.strip().ne("")
        values = pd.to_numeric(raw.where(present), errors="coerce").astype(float)
        bad = present & values.isna()
        self.reject(bad, column, NOT_A_NUMBER + ": " + _preview(raw))
        infinite = values.notna() & ~np.isfinite(values)
        self.reject(infinite, column, NOT_FINITE + ": " + _preview(raw))
        if required:
            self.reject(~present, column, MISSING)
        return values.where(~infinite)

    def integer(self, column: str, *, required: bool = False) -> pd.Series:
        """An integer column (floats with a fraction are rejected).

        Cells written as integers (``42``, ``-7``, a JSON integer) are read exactly,
        not through a float, which holds integers exactly only up to 2**53; other
        numbers (``3.0``, ``1e3``) through their float value.
        """
        values = self.number(column, required=required)
        if column not in self.frame:
            return values.astype("Int64")
        exact = self.frame[column].map(_exact_integer)
        written = exact.notna()
        fraction = values.notna() & ~written & (values != np.floor(values))
        huge = (values.abs() >= _INT64_LIMIT) & ~written
        huge |= written & exact.map(lambda v: v is not None and not -_INT64_MAX <= v < _INT64_MAX)
        self.reject(fraction, column, NOT_AN_INTEGER + ": " + _preview(self.frame[column]))
        self.reject(huge, column, OUT_OF_RANGE + ": " + _preview(self.frame[column]))
        out = values.where(~fraction & ~huge & ~written).astype("Int64")
        keep = written & ~huge
        out[keep] = exact[keep].astype("Int64")
        return out

    def boolean(self, column: str) -> pd.Series:
        """A boolean column: true/false, 1/0, yes/no (any case); others are rejected."""
        if column not in self.frame:
            return pd.Series(pd.NA, index=self.frame.index, dtype="boolean")
        raw = self.frame[column]
        if raw.dtype == bool:
            return raw.astype("boolean")
        text = (
            raw.astype(object)
            .where(raw.notna(), None)
            .map(lambda v: None if v is None else str(v).strip().lower())
        )
        out = pd.Series(pd.NA, index=self.frame.index, dtype="boolean")
        out[text.isin(_TRUE)] = True
        out[text.isin(_FALSE)] = False
        bad = text.notna() & text.ne("") & out.isna()
        self.reject(bad, column, NOT_A_BOOLEAN + ": " + _preview(raw))
        return out

    def timestamp(self, column: str) -> pd.Series:
        """Epoch seconds of a required column.

        Integers (or floats) as they are, ISO 8601 texts and datetime columns
        (Parquet ``timestamp``; without a time zone: UTC) converted. A missing
        cell, or a chunk without the column, rejects its rows; so does a time
        before 1970 or after :data:`~kgrec.typing.MAX_TS` (the API's bounds: a
        millisecond timestamp is not read as the year 55000).
        """
        if column not in self.frame:
            self.reject_all(column)
            return pd.Series(pd.NA, index=self.frame.index, dtype="Int64")
        raw = self.frame[column]
        if is_datetime64_any_dtype(raw.dtype):
            raw = _epoch_seconds(raw)
        present = raw.notna() & raw.astype(str).str.strip().ne("")
        numbers = pd.to_numeric(raw.where(present), errors="coerce")
        need_dates = present & numbers.isna()
        if need_dates.any():
            dates = pd.to_datetime(
                raw[need_dates].astype(str), errors="coerce", utc=True, format="ISO8601"
            )
            numbers = numbers.astype(float)
            numbers[need_dates] = _epoch_seconds(dates)
        numbers = numbers.astype(float)
        late, early = numbers > MAX_TS, numbers < 0  # NaN is neither
        usable = numbers.notna() & ~late & ~early
        self.reject(~present, column, MISSING)
        self.reject(present & numbers.isna(), column, NOT_A_TIMESTAMP + ": " + _preview(raw))
        self.reject(late, column, NOT_A_TIMESTAMP + ": " + _preview(raw) + _AFTER_9999)
        self.reject(early, column, NOT_A_TIMESTAMP + ": " + _preview(raw) + " is before 1970")
        return pd.Series(np.floor(numbers.where(usable)), index=self.frame.index).astype("Int64")

    def reject_all(self, column: str) -> None:
        """Reject every row as missing the required ``column`` (the chunk lacks it)."""
        self.reject(pd.Series(True, index=self.frame.index), column, MISSING)


def pseudonymised(values: pd.Series, pseudonymise: Pseudonymiser) -> pd.Series:
    """Replace id cells by their pseudonyms.

    Each cell is taken as the text :meth:`RowChecks.text` keeps (stripped; ``5.0``
    as ``5``), so a file's id and the same id sent to the API give one pseudonym.
    Missing and blank cells stay as they are (rejected later).
    """

    def one(value: object) -> object:
        text = _scalar_str(value).strip()
        return pseudonymise(text) if text else value

    return values.map(one, na_action="ignore")


def _epoch_seconds(dates: pd.Series) -> pd.Series:
    """Whole seconds since 1970 of a datetime column (naive: UTC; NaT: NaN), as floats."""
    if dates.dt.tz is None:
        dates = dates.dt.tz_localize("UTC")
    return ((dates - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).astype(float)


def _scalar_str(value: object) -> str:
    """A cell as text: integral floats lose their ``.0`` (JSON / Parquet numbers as ids)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
