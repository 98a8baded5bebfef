"""Helpers of the loader tests: write small files, run an import, read rejects."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner, Result

from kgrec.api.cli import app
from kgrec.graph import GraphStore
from kgrec.loaders import ColumnMapping, Importer, ImportReport, Source, validation_options
from kgrec.loaders.constants import EntityKind
from kgrec.pseudonym import Pseudonymiser
from kgrec.settings import Settings


def write(directory: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    """Write a small file (dedented lines) and return its path."""
    path = directory / name
    lines = [line.strip() for line in text.strip().splitlines()]
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def run(
    store: GraphStore,
    settings: Settings,
    files: dict[EntityKind, Path],
    *,
    mapping: ColumnMapping | None = None,
    strict: bool = False,
    dry_run: bool = False,
    replace: bool = False,
    rejects: Path | None = None,
    pseudonymise: Pseudonymiser | None = None,
) -> ImportReport:
    """Import the files with an Importer (no progress bars)."""
    chunk_rows = settings.loaders.import_chunk_rows
    sources = [Source.from_file(entity, path, chunk_rows) for entity, path in files.items()]
    importer = Importer(
        store,
        validation_options(settings.loaders),
        data_dir=settings.data_dir,
        mapping=mapping,
        strict=strict,
        dry_run=dry_run,
        replace=replace,
        rejects=rejects,
        progress=False,
        pseudonymise=pseudonymise,
    )
    return importer.run(sources)


def rejects_of(report: ImportReport) -> list[dict[str, str]]:
    """All rows of the report's rejects files."""
    rows: list[dict[str, str]] = []
    for path in report.rejects_files:
        with path.open(encoding="utf-8", newline="") as f:
            rows.extend(csv.DictReader(f))
    return rows


def invoke(settings: Settings, *args: str, env: dict[str, str] | None = None) -> Result:
    """Run ``kgrec ARGS --no-progress`` in-process on the test graph (``KGREC_*`` in ``env``)."""
    environment = {"KGREC_DATA_DIR": str(settings.data_dir), "KGREC_GRAPH__EMBEDDED_HEAP_MB": "512"}
    return CliRunner().invoke(app, [*args, "--no-progress"], env=environment | (env or {}))
