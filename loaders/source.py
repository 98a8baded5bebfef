"""An import source: one entity kind's rows, from a file or an adapter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kgrec.loaders.constants import EntityKind
from kgrec.loaders.readers import ChunkReader


@dataclass(frozen=True)
class Source:
    """Rows of one entity kind, read chunk by chunk.

    Attributes:
        entity: the entity kind the rows are.
        name: the file (or adapter file) the rows come from, for messages.
        chunks: yields the rows in chunks, each with its row numbers.
        header: the column names (also for a file with no data rows).
        empty: True for a file of zero bytes.
        derived: rows an adapter derives from a file (no "header only" note when none;
            the mapping's column names are not checked against its made-up header).
        reader: the file reader of a file source (None for an adapter's rows).
        encoding: the encoding given for this file (None = the mapping's, else UTF-8).
        delimiter: the CSV delimiter given (None = the mapping's, else detected).
    """

    entity: EntityKind
    name: str
    chunks: Callable[[], Iterator[pd.DataFrame]]
    header: Callable[[], list[str]]
    empty: bool = False
    derived: bool = False
    reader: ChunkReader | None = None
    encoding: str | None = None
    delimiter: str | None = None

    @classmethod
    def from_file(
        cls,
        entity: EntityKind,
        path: Path,
        chunk_rows: int,
        *,
        encoding: str | None = None,
        delimiter: str | None = None,
    ) -> Source:
        """A CSV / TSV, JSON Lines or Parquet file, streamed in chunks.

        ``encoding`` / ``delimiter`` given here win over a mapping section's (an
        :class:`~kgrec.loaders.Importer` fills in the mapping's for those left None).
        """
        reader = ChunkReader(path, chunk_rows, delimiter, encoding=encoding)
        return cls._of_reader(entity, reader, encoding, delimiter)

    @classmethod
    def _of_reader(
        cls, entity: EntityKind, reader: ChunkReader, encoding: str | None, delimiter: str | None
    ) -> Source:
        return cls(
            entity,
            str(reader.path),
            reader.chunks,
            reader.columns,
            reader.empty,
            reader=reader,
            encoding=encoding,
            delimiter=delimiter,
        )

    def with_defaults(self, encoding: str | None, delimiter: str | None) -> Source:
        """This file source with the mapping's encoding / delimiter where none was given."""
        reader = self.reader
        if reader is None:
            return self
        encoding = self.encoding or encoding
        delimiter = self.delimiter or delimiter
        if (encoding, delimiter) == (self.encoding, self.delimiter):
            return self
        again = ChunkReader(reader.path, reader.chunk_rows, delimiter, encoding=encoding)
        return Source._of_reader(self.entity, again, encoding, delimiter)
