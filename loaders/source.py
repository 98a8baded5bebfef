"""An import source: one entity kind's rows, from a file or an adapter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kgrec.settings import Settings
from loaders.constants import EntityKind
from loaders.readers import ChunkReader


@dataclass(frozen=True)
class Source:
    """Rows of one entity kind, read chunk by chunk.

    Attributes:
        entity: the entity kind the rows are.
        name: the file (or adapter file) the rows come from, for messages.
        chunks: yields the rows in chunks, each with its row numbers.
        header: the column names (also for a file with no data rows).
        empty: True for a file of zero bytes.
        derived: rows an adapter derives from a file (no "header only" note when none).
    """

    entity: EntityKind
    name: str
    chunks: Callable[[], Iterator[pd.DataFrame]]
    header: Callable[[], list[str]]
    empty: bool = False
    derived: bool = False

    @classmethod
    def from_file(cls, entity: EntityKind, path: Path, settings: Settings) -> Source:
        """A CSV / TSV, JSON Lines or Parquet file, streamed in chunks."""
        reader = ChunkReader(path, settings.import_chunk_rows)
        return cls(entity, str(path), reader.chunks, reader.columns, reader.empty)
