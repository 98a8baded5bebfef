"""Streaming readers: CSV / TSV, JSON Lines and Parquet, in chunks of rows.

Every chunk is a DataFrame whose index is continuous over the file and which has
a :data:`~loaders.constants.ROW_NUMBER` column (1 = the first data row, the header
excluded), so a rejection names the row wherever it came from. CSV cells are read
as strings (empty cell = missing); JSON and Parquet keep their own types. A UTF-8
byte-order mark is accepted. Memory holds one chunk at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from kgrec.errors import ValidationError
from loaders.constants import CSV_SUFFIXES, JSONL_SUFFIXES, PARQUET_SUFFIXES, ROW_NUMBER

_ENCODING = "utf-8-sig"


class ChunkReader:
    """Read one file in chunks of ``chunk_rows`` rows.

    Args:
        path: a ``.csv``/``.tsv``/``.txt``, ``.jsonl``/``.ndjson``/``.json`` or
            ``.parquet`` file.
        chunk_rows: rows per chunk.
        sep: CSV field separator; default ``\\t`` for ``.tsv``/``.txt``, else ``,``.
        delimited: read as delimited text whatever the suffix (RecBole atomic files).
    """

    def __init__(
        self, path: Path, chunk_rows: int, sep: str | None = None, *, delimited: bool = False
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
            raise ValidationError(f"{path}: unknown file type {suffix!r}; use one of {valid}")
        self.sep = sep if sep is not None else ("," if suffix == ".csv" else "\t")
        if not path.is_file():
            raise ValidationError(f"{path}: no such file")

    @property
    def empty(self) -> bool:
        """True for a file of zero bytes (nothing to read, not even a header)."""
        return self.path.stat().st_size == 0

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
            head = pd.read_csv(self.path, sep=self.sep, nrows=0, encoding=_ENCODING, dtype=str)
            return [str(c) for c in head.columns]
        for frame in self._raw_chunks():
            return [str(c) for c in frame.columns]
        return []

    def _raw_chunks(self) -> Iterator[pd.DataFrame]:
        try:
            if self.format == "csv":
                with pd.read_csv(
                    self.path,
                    sep=self.sep,
                    dtype=str,
                    keep_default_na=False,
                    na_values=[""],
                    encoding=_ENCODING,
                    chunksize=self.chunk_rows,
                ) as reader:
                    yield from reader
            elif self.format == "jsonl":
                with pd.read_json(
                    self.path,
                    lines=True,
                    dtype=False,
                    encoding=_ENCODING,
                    chunksize=self.chunk_rows,
                ) as reader:
                    yield from reader
            else:
                parquet = pq.ParquetFile(self.path)
                for batch in parquet.iter_batches(batch_size=self.chunk_rows):
                    yield batch.to_pandas()
        except UnicodeDecodeError as e:
            raise ValidationError(
                f"{self.path}: not UTF-8 text near byte {e.start} ({e.reason}); "
                "re-encode the file as UTF-8"
            ) from e
        except (ValueError, pd.errors.ParserError) as e:
            raise ValidationError(f"{self.path}: cannot parse as {self.format}: {e}") from e
