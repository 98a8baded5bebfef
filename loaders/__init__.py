"""Loaders: files -> validated typed records -> graph (batched), and dataset adapters.

Public API: :class:`Importer` (run it on :class:`Source` objects, get an
:class:`ImportReport`, or :class:`ImportFailed` with the report of what was
written before an error), :class:`ColumnMapping` (TOML mapping files), the
the :class:`ValidationOptions` an import checks with
(:func:`validation_options` builds them from the settings), the
:class:`ChunkReader` for CSV / JSONL / Parquet, the RecBole atomic-files adapter
:class:`RecboleDataset` with its presets, the dataset fetcher and the synthetic
catalogue generator.
"""

from loaders.counts import EntityCounts
from loaders.datasets import PublicDataset
from loaders.generator import CatalogueGenerator
from loaders.importer import Importer
from loaders.mapping import ColumnMapping
from loaders.options import ValidationOptions, validation_options
from loaders.presets import RecbolePreset
from loaders.readers import ChunkReader
from loaders.recbole import RecboleDataset
from loaders.report import EXIT_OK, EXIT_REJECTED, ImportFailed, ImportReport
from loaders.source import Source
from loaders.validated import ValidatedChunk
from loaders.validation import ChunkValidator

__all__ = [
    "EXIT_OK",
    "EXIT_REJECTED",
    "CatalogueGenerator",
    "ChunkReader",
    "ChunkValidator",
    "ColumnMapping",
    "EntityCounts",
    "ImportFailed",
    "ImportReport",
    "Importer",
    "PublicDataset",
    "RecboleDataset",
    "RecbolePreset",
    "Source",
    "ValidatedChunk",
    "ValidationOptions",
    "validation_options",
]
