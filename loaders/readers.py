"""Streaming readers: CSV / TSV, JSON Lines and Parquet, in chunks of rows.

Every chunk is a DataFrame whose index is continuous over the file and which has
a :data:`~kgrec.loaders.constants.ROW_NUMBER` column (1 = the first data row, the header
excluded), so a rejection names the row wherever it came from. CSV cells are read
as strings (empty cell = missing); JSON and Parquet keep their own types. A JSON
Lines row that lacks a key other rows have says so in an
:data:`~kgrec.loaders.constants.ABSENT` column (a key given as null is an empty cell). Text is
UTF-8 unless an encoding is given (a UTF-8 byte-order mark is accepted); a byte
that does not decode is an error naming the file, row and byte offset. The CSV
delimiter is the one given, else detected on the header (see
:mod:`kgrec.loaders.dialect`). Memory holds one chunk at a time.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from kgrec.errors import DataValidationError
from kgrec.loaders.constants import (
    ABSENT,
    CSV_SUFFIXES,
    JSONL_SUFFIXES,
    PARQUET_SUFFIXES,
    ROW_NUMBER,
)
from kgrec.loaders.dialect import default_delimiter, detect_delimiter
from kgrec.loaders.encoding import DEFAULT_ENCODING, check_encoding, decode_error
from kgrec.loaders.structure import unnamed_last_column


class ChunkReader:
    """Read one file in chunks of ``chunk_rows`` rows.

    Args:
        path: a ``.csv``/``.tsv``/``.txt``, ``.jsonl``/``.ndjson``/``.json`` or
            ``.parquet`` file.
        chunk_rows: rows per chunk.
        sep: CSV field separator; default: detected on the header line, else a tab
            for ``.tsv``/``.txt`` and ``,`` for ``.csv``.
        delimited: read as delimited text whatever the suffix (RecBole atomic files).
        encoding: text encoding of CSV / JSON Lines files (default UTF-8).
    """

    def __init__(
        self,
        path: Path,
        chunk_rows: int,
        sep: str | None = None,
        *,
        delimited: bool = False,
        encoding: str | None = None,
    ) -> None:
        self.path = path
        self.chunk_rows = chunk_rows
        suffix = path.suffix.lower()
        if suffix in CSV_SUFFIXES or delimited:
            self.format = "csv"
        elif suffix in JSONL_SUFFIXES:
            self.format = "jsonl"
        elif suffix in PARQUET_SUFFIXES:
            self.format = "parquet"
        else:
            valid = ", ".join(CSV_SUFFIXES + JSONL_SUFFIXES + PARQUET_SUFFIXES)
            raise DataValidationError(f"{path}: unknown file type {suffix!r}; use one of {valid}")
        if not path.is_file():
            raise DataValidationError(f"{path}: no such file")
        codec = DEFAULT_ENCODING if encoding is None else check_encoding(encoding, where=str(path))
        self.encoding = DEFAULT_ENCODING if codec == "utf-8-sig" else codec  # a BOM is skipped
        self.sep_given = sep is not None
        self._sep = sep

    @functools.cached_property
    def empty(self) -> bool:
        """True for a file with nothing to read, not even a header.

        That is a file of zero bytes, or a CSV / JSON Lines file holding only a
        byte-order mark and blank or whitespace lines (read up to its first
        other character; a file that does not decode there is not empty, and
        its reader says why).
        """
        if self.path.stat().st_size == 0:
            return True
        if self.format == "parquet":
            return False
        try:
            with self.path.open(encoding=self.open_encoding, newline="") as f:
                return not any(line.strip() for line in f)
        except UnicodeDecodeError:
            return False

    @property
    def sep(self) -> str:
        """The CSV delimiter in use (given, else detected on the header, else the default)."""
        if self._sep is None:
            found = None if self.empty else detect_delimiter(self.path, self.encoding)
            self._sep = found or default_delimiter(self.path)
        return self._sep

    @functools.cached_property
    def _unnamed_last(self) -> bool:
        """The CSV header ends with a delimiter (pandas reads an ``Unnamed: N`` column)."""
        return unnamed_last_column(self.path, self.sep, self.open_encoding)

    @property
    def open_encoding(self) -> str:
        """The codec Python's ``open`` reads the file with: UTF-8 skips a byte-order mark."""
        return "utf-8-sig" if self.encoding == DEFAULT_ENCODING else self.encoding

    @property
    def _pandas_encoding(self) -> str:
        # pandas' C parser skips a UTF-8 BOM itself and decodes chunk by chunk under
        # "utf-8" (rows before a bad byte are read); JSON Lines are read with ``open``.
        return self.open_encoding if self.format == "jsonl" else self.encoding

    def chunks(self) -> Iterator[pd.DataFrame]:
        """Yield the file's rows chunk by chunk (nothing for an empty file)."""
        if self.empty:
            return
        start = 0
        for frame in self._raw_chunks():
            if not len(frame):
                continue
            frame.index = pd.RangeIndex(start, start + len(frame))
            frame[ROW_NUMBER] = frame.index + 1
            start += len(frame)
            yield frame

    def columns(self) -> list[str]:
        """The column names of the file (the header), without reading its rows."""
        if self.empty:
            return []
        if self.format == "parquet":
            return list(pq.ParquetFile(self.path).schema_arrow.names)
        if self.format == "csv":
            try:
                head = pd.read_csv(
                    self.path,
                    sep=self.sep,
                    nrows=0,
                    encoding=self._pandas_encoding,
                    dtype=str,
                    index_col=False,
                )
            except UnicodeDecodeError as e:
                raise self._decode_error(e) from e
            except (ValueError, pd.errors.ParserError) as e:
                raise DataValidationError(f"{self.path}: cannot parse the header: {e}") from e
            columns = [str(c) for c in head.columns]
            return columns[:-1] if self._unnamed_last else columns
        try:  # JSON Lines: every key of every line, in the order first seen
            keys = dict.fromkeys(str(key) for record in self._json_records() for key in record)
        except UnicodeDecodeError as e:
            raise self._decode_error(e) from e
        return list(keys)

    def _decode_error(self, e: UnicodeDecodeError) -> DataValidationError:
        return decode_error(self.path, self.encoding, csv=self.format == "csv", cause=str(e))

    def _json_records(self) -> Iterator[dict[str, object]]:
        """The JSON Lines file's objects, line by line, blank lines skipped.

        Raises:
            DataValidationError: a line that is not a JSON object (file, line, reason).
        """
        with self.path.open(encoding=self._pandas_encoding, newline="") as f:
            for number, line in enumerate(f, start=1):
                if line.strip():
                    yield self._json_object(line, number)

    def _json_chunks(self) -> Iterator[pd.DataFrame]:
        """Read JSON Lines chunks of ``chunk_rows`` objects.

        Each line is parsed by :mod:`json` into Python values kept as they are (an
        object column): a large integer id stays exact, where a float column
        would round it past 2**53. A row lacking keys that other rows of its chunk
        have names them in the :data:`~kgrec.loaders.constants.ABSENT` column.
        """
        lines = self._json_records()
        while records := list(itertools.islice(lines, self.chunk_rows)):
            frame = pd.DataFrame(records, dtype=object)
            columns = [str(c) for c in frame.columns]
            absent = [tuple(c for c in columns if c not in r) or None for r in records]
            if any(a is not None for a in absent):
                frame[ABSENT] = pd.Series(absent, index=frame.index, dtype=object)
            yield frame

    def _json_object(self, line: str, number: int) -> dict[str, object]:
        try:
            value = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataValidationError(
                f"{self.path}: line {number}, column {e.pos + 1}: not valid JSON ({e.msg})"
            ) from e
        if not isinstance(value, dict):
            raise DataValidationError(
                f"{self.path}: line {number}: each line must be one JSON object, "
                f"not a JSON {type(value).__name__}"
            )
        return value

    def _raw_chunks(self) -> Iterator[pd.DataFrame]:
        try:
            if self.format == "csv":
                with pd.read_csv(
                    self.path,
                    sep=self.sep,
                    dtype=str,
                    keep_default_na=False,
                    na_values=[""],
                    encoding=self._pandas_encoding,
                    chunksize=self.chunk_rows,
                    index_col=False,  # a delimiter ending every row adds no column
                ) as reader:
                    for frame in reader:  # a header ending with one: its unnamed column goes
                        yield frame.iloc[:, :-1] if self._unnamed_last else frame
            elif self.format == "jsonl":
                yield from self._json_chunks()
            else:
                parquet = pq.ParquetFile(self.path)
                for batch in parquet.iter_batches(batch_size=self.chunk_rows):
                    # an integer column with nulls holds Python ints (and None), not
                    # floats, which hold integers exactly only up to 2**53
                    yield batch.to_pandas(integer_object_nulls=True)
        except UnicodeDecodeError as e:
            raise self._decode_error(e) from e
        except (ValueError, pd.errors.ParserError) as e:
            raise DataValidationError(f"{self.path}: cannot parse as {self.format}: {e}") from e
