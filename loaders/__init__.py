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

from kgrec.loaders.counts import EntityCounts
from kgrec.loaders.datasets import PublicDataset
from kgrec.loaders.generator import CatalogueGenerator
from kgrec.loaders.importer import Importer
from kgrec.loaders.mapping import ColumnMapping
from kgrec.loaders.options import ValidationOptions, validation_options
from kgrec.loaders.presets import RecbolePreset
from kgrec.loaders.readers import ChunkReader
from kgrec.loaders.recbole import RecboleDataset
from kgrec.loaders.report import EXIT_OK, EXIT_REJECTED, ImportFailed, ImportReport
from kgrec.loaders.source import Source
from kgrec.loaders.validated import ValidatedChunk
from kgrec.loaders.validation import ChunkValidator

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
