"""The importer: sources -> validated records -> graph, in batches, with a report.

Before anything is written every source's header is checked against its fields
and mapping section (:mod:`kgrec.loaders.columns`); an error there writes nothing. An
error part-way through (a byte that does not decode at row 15,000) stops the
import with :class:`~kgrec.loaders.report.ImportFailed`, whose report holds what was
written before it; ``strict`` reads every file first, so then nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from kgrec.errors import DataValidationError, KgrecError
from kgrec.graph import GraphStore, UpsertCounts
from kgrec.loaders import rows as to_rows
from kgrec.loaders.categories import category_tree
from kgrec.loaders.columns import ColumnPlan, plan_columns
from kgrec.loaders.constants import (
    BRANDS,
    CATEGORIES,
    ENTITIES_WRITTEN,
    ENTITY_KINDS,
    INTERACTIONS,
    KG,
    KG_LINKS,
    PRODUCTS,
    USERS,
)
from kgrec.loaders.counts import EntityCounts
from kgrec.loaders.dialect import check_joined_header
from kgrec.loaders.entities import EntityWriter
from kgrec.loaders.known_ids import KnownIds
from kgrec.loaders.mapping import ColumnMapping
from kgrec.loaders.options import ValidationOptions
from kgrec.loaders.rejects import RejectsFile
from kgrec.loaders.report import ImportFailed, ImportReport
from kgrec.loaders.source import Source
from kgrec.loaders.structure import check_delimited
from kgrec.loaders.validated import ValidatedChunk
from kgrec.loaders.validation import ChunkValidator
from kgrec.paths import DataDir
from kgrec.pseudonym import Pseudonymiser
from kgrec.typing import BRAND, BRAND_ID, CATEGORY, CATEGORY_IDS, ID, NAME, PRODUCT, USER

_WRITE_SLICE_BATCHES = 10  # progress is updated after this many write batches
_Prepared = tuple[Source, ColumnPlan | None]  # None: an empty file


class Importer:
    """Import sources into the graph (or only validate them).

    Args:
        store: the graph; also asked which users and products exist (a dry run
            reads it but never writes).
        validation: limits and default separators of the checks.
        data_dir: the data directory (default rejects files under ``rejects/``).
        mapping: column renames, kept attributes, encodings, delimiters and
            separators per entity kind (default: none, keep all).
        dry_run: validate and report, write nothing.
        strict: write nothing when any row is rejected or any column is neither a
            field nor kept (validates everything first).
        replace: a node keeps exactly the properties its row carries; by default
            properties of columns the file lacks are left as they are. Entities
            written by triples and links are always merged (:mod:`kgrec.loaders.entities`).
        rejects: rejects file; with several sources, ``NAME.ENTITY.csv`` beside it.
            Default: ``<data_dir>/rejects/<file>.<entity>.rejects.csv``.
            Records are written in slices of ten of the store's write batches.
        progress: show a progress bar per source (rows/s).
        pseudonymise: maps each shopper id (users' ``id``, interactions' ``user_id``)
            to the one stored, before validation (default: ids kept as they are; the
            CLI passes ``Pseudonymiser.from_salt(settings.pseudonymise_salt)``).
    """

    def __init__(
        self,
        store: GraphStore,
        validation: ValidationOptions,
        *,
        data_dir: Path,
        mapping: ColumnMapping | None = None,
        dry_run: bool = False,
        strict: bool = False,
        replace: bool = False,
        rejects: Path | None = None,
        progress: bool = True,
        pseudonymise: Pseudonymiser | None = None,
    ) -> None:
        self.store = store
        self.validation = validation
        self.paths = DataDir(data_dir)
        self.mapping = mapping or ColumnMapping()
        self.dry_run = dry_run
        self.strict = strict
        self.replace = replace
        self.rejects = rejects
        self.progress = progress
        self.pseudonymise = pseudonymise if pseudonymise is not None else Pseudonymiser.identity()

    # Entry point ------------------------------------------------------------------------
    def run(self, sources: Sequence[Source]) -> ImportReport:
        """Import the sources in dependency order; returns the report.

        Raises:
            DataValidationError: a header or the mapping is wrong (nothing was written).
            ImportFailed: an error stopped the import part-way; its ``report`` says
                what was written before it (nothing, with ``strict``).
        """
        order = {name: i for i, name in enumerate(ENTITY_KINDS)}
        prepared = self._prepare(sorted(sources, key=lambda s: order[s.entity]))
        notes = [note for _, plan in prepared if plan is not None for note in plan.notes()]
        if self.strict and not self.dry_run:
            check = ImportReport(messages=list(notes))
            self._guarded(prepared, check, write=False)
            if check.rejected:
                check.aborted = True
                check.messages.append(
                    f"--strict: {check.rejected:,} rows rejected, nothing was written"
                )
                return check
        report = ImportReport(messages=list(notes), dry_run=self.dry_run, replace=self.replace)
        self._guarded(prepared, report, write=not self.dry_run)
        return report

    def _prepare(self, sources: Sequence[Source]) -> list[_Prepared]:
        """Apply the mapping's reading options and check every header (writes nothing)."""
        prepared: list[_Prepared] = []
        for source in sources:
            section = self.mapping.section(source.entity)
            source = source.with_defaults(section.encoding, section.delimiter)
            header = [] if source.empty else source.header()
            if not header:
                prepared.append((source, None))
                continue
            if source.reader is not None and source.reader.format == "csv":
                check_joined_header(source.reader.path, header, source.reader.sep, source.entity)
                check_delimited(source.reader.path, source.reader.sep, source.reader.open_encoding)
            plan = plan_columns(
                source.entity, source.name, header, self.mapping, check_mapping=not source.derived
            )
            prepared.append((source, plan))
        self._check_rejects_paths([source for source, _ in prepared])
        if self.strict:
            refusals = [r for _, p in prepared if p is not None and (r := p.refusal(self.mapping))]
            if refusals:
                raise DataValidationError("; ".join(refusals) + "; nothing was written")
        return prepared

    def _guarded(self, prepared: Sequence[_Prepared], report: ImportReport, *, write: bool) -> None:
        """One pass; an error stops it and is raised with the report of what was done."""
        state = _PassState(self.store, write)
        try:
            for source, plan in prepared:
                self._source(source, plan, report, state, len(prepared))
        except KgrecError as e:
            if write:
                report.messages.append(
                    "the import stopped at an error (below): the counts are what was "
                    "written before it"
                )
            elif report.dry_run:
                report.messages.append("the dry run stopped at an error (below)")
            else:
                report.aborted = True
                report.messages.append("--strict: an error (below), nothing was written")
            raise ImportFailed(e, report) from e

    def _check_rejects_paths(self, sources: Sequence[Source]) -> None:
        """Refuse a rejects path that is an input of this import or a directory.

        Checked before anything is written: a rejects file is removed when its
        source starts, which would delete an input named as one.
        """
        inputs = {Path(s.name).resolve(): s.name for s in sources}
        for source in sources:
            path = self._rejects_path(source, len(sources))
            if path.resolve() in inputs:
                raise DataValidationError(
                    f"the rejects file {path} is an input of this import "
                    f"({inputs[path.resolve()]}); choose another --rejects path; "
                    "nothing was written"
                )
            if path.is_dir():
                raise DataValidationError(
                    f"the rejects file {path} is a directory; give a file path such as "
                    f"{path / 'rejects.csv'}; nothing was written"
                )

    def _rejects_path(self, source: Source, n_sources: int) -> Path:
        if self.rejects is not None:
            if n_sources == 1:
                return self.rejects
            suffix = self.rejects.suffix or ".csv"
            return self.rejects.with_name(f"{self.rejects.stem}.{source.entity}{suffix}")
        stem = Path(source.name).name
        return self.paths.rejects_file(stem, source.entity)

    # One source -------------------------------------------------------------------------
    def _source(
        self,
        source: Source,
        plan: ColumnPlan | None,
        report: ImportReport,
        state: _PassState,
        n_sources: int,
    ) -> None:
        counts = report.entity(source.entity)
        if plan is None:
            report.messages.append(f"{source.name}: empty file, no {source.entity} to import")
            return
        validator = ChunkValidator(
            source.entity,
            source.name,
            self.validation,
            self.mapping,
            state.known,
            self.pseudonymise,
        )
        rejects = RejectsFile(self._rejects_path(source, n_sources))
        rows_before = counts.rows
        bar = tqdm(
            desc=f"{source.entity} {Path(source.name).name}",
            unit=" rows",
            unit_scale=True,
            disable=not self.progress,
            leave=True,
        )
        try:
            for validated, rows in self._validated(source, validator):
                counts.rows += rows
                counts.rejected += len(validated.rejects)
                # a category file's records are the categories its paths expand to
                counts.accepted += (
                    rows - len(validated.rejects)
                    if source.entity == CATEGORIES
                    else len(validated.records) + validated.duplicates
                )
                counts.unchanged += validated.duplicates if state.write else 0
                rejects.append(validated.rejects)
                self._write(source.entity, validated, report, state)
                bar.set_postfix(rejected=counts.rejected, refresh=False)
                bar.update(rows)
        finally:
            bar.close()
            if rejects.rows:
                report.rejects_files.append(rejects.path)
        if counts.rows == rows_before and not source.derived:
            report.messages.append(f"{source.name}: header only, no {source.entity} rows to import")
        note = validator.separator_note()
        if note is not None:
            report.messages.append(note)

    def _validated(
        self, source: Source, validator: ChunkValidator
    ) -> Iterator[tuple[ValidatedChunk, int]]:
        """Validated chunks and their row counts (a category file as one whole)."""
        if source.entity == CATEGORIES:
            chunks = list(source.chunks())
            parts = [validator.validate(c) for c in chunks]
            raw = pd.concat(chunks) if chunks else pd.DataFrame()
            tree = category_tree(
                parts, raw, self.store, validator.file_name, validator.category_separator
            )
            yield tree, sum(len(c) for c in chunks)
            return
        for chunk in source.chunks():
            yield validator.validate(chunk), len(chunk)

    # Writes -----------------------------------------------------------------------------
    def _write(
        self,
        entity: str,
        chunk: ValidatedChunk,
        report: ImportReport,
        state: _PassState,
    ) -> None:
        records = chunk.records
        known = state.known
        replace = self.replace
        carried = chunk.carried
        if entity == PRODUCTS:
            new = [c for c in chunk.categories if c[ID] not in state.categories]
            state.categories.update(str(c[ID]) for c in new)
            if new and state.write:  # created when missing, an existing one is left as it is
                existing = self.store.existing_ids(CATEGORY, [str(c[ID]) for c in new])
                missing = [c for c in new if c[ID] not in existing]
                if missing:
                    implied = to_rows.category_rows(pd.DataFrame(missing), carried | {"path"})
                    counts = self.store.upsert_categories(implied)
                    report.entity(CATEGORIES).add_upsert(counts)
            if state.write:
                self._count_implied(records, report, state)
            known.add(PRODUCT, records[ID].tolist())
            self._batched(
                records,
                state,
                report.entity(PRODUCTS),
                lambda r: self.store.upsert_products(
                    to_rows.product_rows(r, carried), replace=replace
                ),
            )
        elif entity == BRANDS:
            state.brands.update(records[ID].tolist())
            self._batched(
                records,
                state,
                report.entity(BRANDS),
                lambda r: self.store.upsert_brands(to_rows.brand_rows(r), replace=replace),
            )
        elif entity == CATEGORIES:
            state.categories.update(records[ID].tolist())
            if state.write:
                rows = to_rows.category_rows(records, carried)
                unnamed = [r[ID] for r in rows if r.get(NAME) is None]
                kept = self.store.existing_ids(CATEGORY, unnamed) if not replace else set()
                rows = to_rows.name_new_by_id(rows, kept)
                counts = self.store.upsert_categories(rows, replace=replace)
                report.entity(CATEGORIES).add_upsert(counts)
        elif entity == USERS:
            known.add(USER, records[ID].tolist())
            self._batched(
                records,
                state,
                report.entity(USERS),
                lambda r: self.store.upsert_users(to_rows.user_rows(r), replace=replace),
            )
        elif entity == INTERACTIONS:
            self._batched(
                records,
                state,
                report.entity(INTERACTIONS),
                lambda r: self.store.upsert_interactions(
                    to_rows.interaction_rows(r), race_safe=False
                ),
            )
        elif entity == KG:
            entities, triples = to_rows.triple_rows(records)
            state.entities.add(entities, report.entity(ENTITIES_WRITTEN))
            if state.write and triples:
                report.entity(KG).add_upsert(self.store.relate_entities(triples))
        elif entity == KG_LINKS:
            entities, links = to_rows.link_rows(records)
            state.entities.add(entities, report.entity(ENTITIES_WRITTEN))
            if state.write and links:
                report.entity(KG_LINKS).add_upsert(self.store.link_entities(links))

    def _count_implied(
        self, records: pd.DataFrame, report: ImportReport, state: _PassState
    ) -> None:
        """Count the brands and categories the product rows name and the graph lacks.

        The product upsert creates them (named by their id, or ``brand_name``);
        they are counted as created in the summary's brands and categories lines.
        """
        brands = {str(b) for b in records[BRAND_ID].dropna()} - state.brands
        categories = {str(c) for ids in records[CATEGORY_IDS].dropna() for c in ids}
        categories -= state.categories
        for label, kind, named, seen in (
            (BRAND, BRANDS, brands, state.brands),
            (CATEGORY, CATEGORIES, categories, state.categories),
        ):
            created = len(named - self.store.existing_ids(label, named)) if named else 0
            if created:
                report.entity(kind).created += created
            seen.update(named)

    def _batched(
        self,
        records: pd.DataFrame,
        state: _PassState,
        counts: EntityCounts,
        write: Callable[[pd.DataFrame], UpsertCounts],
    ) -> None:
        if not state.write:
            return
        step = self.store.options.write_batch_size * _WRITE_SLICE_BATCHES
        for start in range(0, len(records), step):
            counts.add_upsert(write(records.iloc[start : start + step]))


class _PassState:
    """What one pass over the sources remembers between them."""

    def __init__(self, store: GraphStore, write: bool) -> None:
        self.known = KnownIds(store)
        self.write = write
        self.categories: set[str] = set()
        self.brands: set[str] = set()
        self.entities = EntityWriter(store, write=write)
