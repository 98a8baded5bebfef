"""The importer: sources -> validated records -> graph, in batches, with a report."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import pandas as pd
from tqdm import tqdm

from graph import (
    BrandRow,
    CategoryRow,
    EntityLinkRow,
    EntityRow,
    GraphStore,
    InteractionRow,
    ProductRow,
    TripleRow,
    UserRow,
)
from kgrec.settings import Settings
from kgrec.typing import (
    ATTRS,
    BRAND_ID,
    CATEGORY,
    CATEGORY_IDS,
    CURRENCY,
    DESCRIPTION,
    ENTITY_ID,
    HEAD,
    ID,
    IMAGE_URL,
    IN_STOCK,
    KIND,
    NAME,
    PARENT_ID,
    PATH,
    PRICE,
    PRODUCT,
    PRODUCT_ID,
    RELATION,
    TAIL,
    TITLE,
    TS,
    USER,
    USER_ID,
    VALUE,
    WEIGHT,
)
from loaders.constants import (
    BRAND_NAME,
    BRANDS,
    CATEGORIES,
    CATEGORY_CYCLE,
    COLUMN,
    DEFAULT_ENTITY_KIND,
    DEFAULT_LINK_RELATION,
    ENTITIES_WRITTEN,
    ENTITY_KINDS,
    FILE,
    HEAD_KIND,
    HEAD_NAME,
    INTERACTIONS,
    KG,
    KG_LINKS,
    PRODUCTS,
    REASON,
    ROW,
    ROW_NUMBER,
    TAIL_KIND,
    TAIL_NAME,
    UNKNOWN_PARENT,
    USERS,
)
from loaders.known_ids import KnownIds
from loaders.mapping import ColumnMapping
from loaders.rejects import RejectsFile
from loaders.report import ImportReport
from loaders.source import Source
from loaders.validated import ValidatedChunk
from loaders.validation import ChunkValidator, category_chain

_WRITE_SLICE_BATCHES = 10  # progress is updated after this many write batches


def _none(value: object) -> Any:
    """pandas missing values (NaN, NA, None) as None; numpy scalars as Python."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and value != value:
        return None
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, (list, dict)) else value


def _records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Rows as dicts of plain values (missing = None)."""
    present = [c for c in columns if c in frame]
    table = frame[present].astype(object)
    table = table.where(table.notna(), None)
    return [
        {k: _none(v) for k, v in zip(present, row, strict=True)}
        for row in table.itertuples(index=False, name=None)
    ]


class Importer:
    """Import sources into the graph (or only validate them).

    Args:
        store: the graph; also asked which users and products exist (a dry run
            reads it but never writes).
        settings: limits, separators, chunk and batch sizes, data directory.
        mapping: column renames and kept attributes (default: none, keep all).
        dry_run: validate and report, write nothing.
        strict: write nothing when any row is rejected (validates everything first).
        rejects: rejects file; with several sources, ``NAME.ENTITY.csv`` beside it.
            Default: ``<data_dir>/rejects/<file>.<entity>.rejects.csv``.
        progress: show a progress bar per source (rows/s).
    """

    def __init__(
        self,
        store: GraphStore,
        settings: Settings,
        *,
        mapping: ColumnMapping | None = None,
        dry_run: bool = False,
        strict: bool = False,
        rejects: Path | None = None,
        progress: bool = True,
    ) -> None:
        self.store = store
        self.settings = settings
        self.mapping = mapping or ColumnMapping()
        self.dry_run = dry_run
        self.strict = strict
        self.rejects = rejects
        self.progress = progress

    # Entry point ------------------------------------------------------------------------
    def run(self, sources: Sequence[Source]) -> ImportReport:
        """Import the sources in dependency order; returns the report."""
        order = {name: i for i, name in enumerate(ENTITY_KINDS)}
        ordered = sorted(sources, key=lambda s: order[s.entity])
        if self.strict and not self.dry_run:
            check = self._pass(ordered, write=False)
            if check.rejected:
                check.aborted = True
                check.messages.append(
                    f"--strict: {check.rejected:,} rows rejected, nothing was written"
                )
                return check
        report = self._pass(ordered, write=not self.dry_run)
        report.dry_run = self.dry_run
        return report

    def _pass(self, sources: Sequence[Source], *, write: bool) -> ImportReport:
        report = ImportReport()
        state = _PassState(KnownIds(self.store), write)
        for source in sources:
            self._source(source, report, state, len(sources))
        return report

    def _rejects_path(self, source: Source, n_sources: int) -> Path:
        if self.rejects is not None:
            if n_sources == 1:
                return self.rejects
            suffix = self.rejects.suffix or ".csv"
            return self.rejects.with_name(f"{self.rejects.stem}.{source.entity}{suffix}")
        stem = Path(source.name).name
        return self.settings.data_dir / "rejects" / f"{stem}.{source.entity}.rejects.csv"

    # One source -------------------------------------------------------------------------
    def _source(
        self, source: Source, report: ImportReport, state: _PassState, n_sources: int
    ) -> None:
        counts = report.entity(source.entity)
        header = [] if source.empty else source.header()
        if not header:
            report.messages.append(f"{source.name}: empty file, no {source.entity} to import")
            return
        validator = ChunkValidator(
            source.entity, source.name, self.settings, self.mapping, state.known
        )
        validator.check_columns(header)
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
            for validated, rows in self._validated(source, validator, rejects):
                counts.rows += rows
                counts.rejected += len(validated.rejects)
                counts.accepted += len(validated.records) + validated.duplicates
                counts.unchanged += validated.duplicates if state.write else 0
                rejects.append(validated.rejects)
                self._write(source.entity, validated, report, state)
                bar.set_postfix(rejected=counts.rejected, refresh=False)
                bar.update(rows)
        finally:
            bar.close()
        if counts.rows == rows_before and not source.derived:
            report.messages.append(f"{source.name}: header only, no {source.entity} rows to import")
        if rejects.rows:
            report.rejects_files.append(rejects.path)

    def _validated(
        self, source: Source, validator: ChunkValidator, rejects: RejectsFile
    ) -> Iterator[tuple[ValidatedChunk, int]]:
        """Validated chunks and their row counts (a category file as one whole)."""
        if source.entity == CATEGORIES:
            chunks = list(source.chunks())
            yield self._category_tree(chunks, validator), sum(len(c) for c in chunks)
            return
        for chunk in source.chunks():
            yield validator.validate(chunk), len(chunk)

    def _category_tree(
        self, chunks: list[pd.DataFrame], validator: ChunkValidator
    ) -> ValidatedChunk:
        """Validate a whole category file: expand paths, check parents and cycles."""
        parts = [validator.validate(c) for c in chunks]
        raw = pd.concat(chunks) if chunks else pd.DataFrame()
        records = pd.concat([p.records for p in parts]) if parts else pd.DataFrame()
        reject_frames = [p.rejects for p in parts]
        duplicates = sum(p.duplicates for p in parts)
        tree: dict[str, dict[str, Any]] = {}
        owner: dict[str, int] = {}  # category id -> index of the row that named it
        sep = self.settings.category_separator
        for index, rec in zip(
            records.index, _records(records, [ID, NAME, PARENT_ID, PATH]), strict=True
        ):
            if rec.get(PATH):
                chain = category_chain(str(rec[PATH]), sep)
                if rec.get(ID):
                    chain[-1][ID] = rec[ID]
                    chain[-1][NAME] = rec[NAME] or chain[-1][NAME]
                for link in chain:
                    tree.setdefault(str(link[ID]), link)
                    owner.setdefault(str(link[ID]), int(index))
                if rec.get(ID):
                    tree[str(rec[ID])] = chain[-1]
            else:
                tree[str(rec[ID])] = rec
                owner[str(rec[ID])] = int(index)
        # Parents must be in the file or the graph; a row under a rejected one goes too.
        in_graph = self.store.existing_ids(
            CATEGORY, {str(r[PARENT_ID]) for r in tree.values() if r.get(PARENT_ID)} - set(tree)
        )
        bad: dict[int, tuple[str, str]] = {}
        changed = True
        while changed:
            changed = False
            for cid, rec in list(tree.items()):
                parent = rec.get(PARENT_ID)
                if parent and parent not in tree and parent not in in_graph:
                    bad.setdefault(owner[cid], (PARENT_ID, f"{UNKNOWN_PARENT}: '{parent}'"))
                    del tree[cid]
                    changed = True
        for cid in list(tree):
            seen: set[str] = set()
            node: str | None = cid
            while node is not None and node in tree and node not in seen:
                seen.add(node)
                node = tree[node].get(PARENT_ID)
            if node is not None and node in seen:
                for member in seen:
                    bad.setdefault(owner[member], (PARENT_ID, f"{CATEGORY_CYCLE}: '{cid}'"))
        if bad:
            for cid in [c for c in tree if owner[c] in bad]:
                del tree[cid]
            idx = sorted(bad)
            extra = raw.loc[idx].drop(columns=[ROW_NUMBER])
            extra.insert(0, REASON, [bad[i][1] for i in idx])
            extra.insert(0, COLUMN, [bad[i][0] for i in idx])
            extra.insert(0, ROW, raw.loc[idx, ROW_NUMBER].tolist())
            extra.insert(0, FILE, validator.file_name)
            reject_frames.append(extra)
        kept = pd.DataFrame(list(tree.values()), columns=[ID, NAME, PARENT_ID, PATH])
        all_rejects = pd.concat([f for f in reject_frames if len(f)] or [pd.DataFrame()])
        return ValidatedChunk(kept, all_rejects, duplicates)

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
        if entity == PRODUCTS:
            new = [c for c in chunk.categories if c[ID] not in state.categories]
            state.categories.update(str(c[ID]) for c in new)
            if new and state.write:
                rows_c = cast(list[CategoryRow], new)
                report.entity(CATEGORIES).add_upsert(self.store.upsert_categories(rows_c))
            known.add(PRODUCT, records[ID].tolist())
            self._batched(records, state, report.entity(PRODUCTS), self._products)
        elif entity == BRANDS:
            self._batched(records, state, report.entity(BRANDS), self._brands)
        elif entity == CATEGORIES:
            state.categories.update(records[ID].tolist())
            if state.write:
                rows = cast(list[CategoryRow], _records(records, [ID, NAME, PARENT_ID, PATH]))
                report.entity(CATEGORIES).add_upsert(self.store.upsert_categories(rows))
        elif entity == USERS:
            known.add(USER, records[ID].tolist())
            self._batched(records, state, report.entity(USERS), self._users)
        elif entity == INTERACTIONS:
            self._batched(records, state, report.entity(INTERACTIONS), self._interactions)
        elif entity == KG:
            self._kg(records, report, state)
        elif entity == KG_LINKS:
            self._kg_links(records, report, state)

    def _batched(
        self,
        records: pd.DataFrame,
        state: _PassState,
        counts: Any,
        write: Any,
    ) -> None:
        if not state.write:
            return
        step = self.settings.write_batch_size * _WRITE_SLICE_BATCHES
        for start in range(0, len(records), step):
            counts.add_upsert(write(records.iloc[start : start + step]))

    def _products(self, records: pd.DataFrame) -> Any:
        rows = _records(
            records,
            [ID, TITLE, DESCRIPTION, PRICE, CURRENCY, IN_STOCK, IMAGE_URL, BRAND_ID, BRAND_NAME,
             CATEGORY_IDS, ATTRS],
        )  # fmt: skip
        products = [cast(ProductRow, {k: v for k, v in r.items() if v is not None}) for r in rows]
        return self.store.upsert_products(products)

    def _brands(self, records: pd.DataFrame) -> Any:
        return self.store.upsert_brands(cast(list[BrandRow], _records(records, [ID, NAME])))

    def _users(self, records: pd.DataFrame) -> Any:
        return self.store.upsert_users(cast(list[UserRow], _records(records, [ID, ATTRS])))

    def _interactions(self, records: pd.DataFrame) -> Any:
        rows = _records(records, [USER_ID, PRODUCT_ID, KIND, TS, VALUE, WEIGHT])
        return self.store.upsert_interactions(cast(list[InteractionRow], rows))

    def _entities(self, rows: list[EntityRow], report: ImportReport, state: _PassState) -> None:
        new = [r for r in rows if r["id"] not in state.entities]
        unique = list({r["id"]: r for r in reversed(new)}.values())[::-1]
        state.entities.update(r["id"] for r in unique)
        counts = report.entity(ENTITIES_WRITTEN)
        counts.rows += len(unique)
        counts.accepted += len(unique)
        if state.write and unique:
            counts.add_upsert(self.store.upsert_entities(unique))

    def _kg(self, records: pd.DataFrame, report: ImportReport, state: _PassState) -> None:
        rows = _records(records, [HEAD, RELATION, TAIL, HEAD_KIND, TAIL_KIND, HEAD_NAME, TAIL_NAME])
        entities: list[EntityRow] = []
        for r in rows:
            entities.append(
                {"id": r[HEAD], "kind": r[HEAD_KIND] or DEFAULT_ENTITY_KIND, "name": r[HEAD_NAME]}
            )
            entities.append(
                {"id": r[TAIL], "kind": r[TAIL_KIND] or r[RELATION], "name": r[TAIL_NAME]}
            )
        self._entities(entities, report, state)
        if state.write and rows:
            triples = [
                cast(TripleRow, {HEAD: r[HEAD], RELATION: r[RELATION], TAIL: r[TAIL]}) for r in rows
            ]
            report.entity(KG).written += self.store.relate_entities(triples)

    def _kg_links(self, records: pd.DataFrame, report: ImportReport, state: _PassState) -> None:
        rows = _records(records, [PRODUCT_ID, ENTITY_ID, RELATION, KIND, NAME])
        entities: list[EntityRow] = [
            {"id": r[ENTITY_ID], "kind": r[KIND] or DEFAULT_ENTITY_KIND, "name": r[NAME]}
            for r in rows
        ]
        self._entities(entities, report, state)
        if state.write and rows:
            links = [
                cast(
                    EntityLinkRow,
                    {
                        PRODUCT_ID: r[PRODUCT_ID],
                        ENTITY_ID: r[ENTITY_ID],
                        RELATION: r[RELATION] or DEFAULT_LINK_RELATION,
                    },
                )
                for r in rows
            ]
            report.entity(KG_LINKS).written += self.store.link_entities(links)


class _PassState:
    """What one pass over the sources remembers between them."""

    def __init__(self, known: KnownIds, write: bool) -> None:
        self.known = known
        self.write = write
        self.categories: set[str] = set()
        self.entities: set[str] = set()
