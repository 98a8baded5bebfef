"""Bulk validation of one entity's chunks: typed records or precise rejections.

Every check is a vectorised pandas operation over the whole chunk; no per-row
model is built in the hot path. A rejected row names its file, row number,
column and reason.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from kgrec.loaders.attributes import attributes
from kgrec.loaders.categories import (
    SeparatorHints,
    chain_categories,
    leaf,
    path_chains,
    trim_path,
)
from kgrec.loaders.checks import RowChecks, pseudonymised
from kgrec.loaders.columns import CORE
from kgrec.loaders.constants import (
    ABSENT,
    BRAND_NAME,
    BRANDS,
    CATEGORIES,
    CATEGORY_PATH,
    DUPLICATE_ID,
    HEAD_KIND,
    HEAD_NAME,
    INTERACTIONS,
    MISSING,
    NEGATIVE_PRICE,
    PRODUCTS,
    READER_COLUMNS,
    ROW_NUMBER,
    TAIL_KIND,
    TAIL_NAME,
    UNKNOWN_KIND,
    UNKNOWN_PRODUCT,
    UNKNOWN_USER,
    USERS,
)
from kgrec.loaders.known_ids import KnownIds
from kgrec.loaders.mapping import ColumnMapping
from kgrec.loaders.options import ValidationOptions
from kgrec.loaders.rejects import rejected_rows
from kgrec.loaders.validated import ValidatedChunk
from kgrec.pseudonym import Pseudonymiser
from kgrec.typing import (
    ATTRS,
    BRAND_ID,
    CATEGORY_IDS,
    CURRENCY,
    DESCRIPTION,
    ENTITY_ID,
    HEAD,
    ID,
    IMAGE_URL,
    IN_STOCK,
    INTERACTION_KINDS,
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

_ATTRS: Final = ATTRS
_SHOPPER_FIELD: Final = {USERS: ID, INTERACTIONS: USER_ID}  # pseudonymised when salted


class ChunkValidator:
    """Validate the chunks of one file of one entity kind.

    Args:
        entity: the entity kind (``products``, ``interactions``, ...).
        file_name: the file, for messages and the rejects file.
        options: limits and default separators.
        mapping: column renames, attributes to keep and their types.
        known: ids of users and products an interaction or link may name.
        pseudonymise: maps a shopper id (a users file's ``id``, an interaction's
            ``user_id``) to the one stored; applied to each chunk before anything else,
            so checks, rejects and the graph see only pseudonyms (:mod:`kgrec.pseudonym`).
    """

    def __init__(
        self,
        entity: str,
        file_name: str,
        options: ValidationOptions,
        mapping: ColumnMapping,
        known: KnownIds,
        pseudonymise: Pseudonymiser,
    ) -> None:
        self.entity = entity
        self.file_name = file_name
        self.options = options
        self.section = mapping.section(entity)
        self.known = known
        self.pseudonymise = pseudonymise
        self.category_separator = self.section.category_separator or options.category_separator
        self.list_separator = self.section.list_separator or options.list_separator
        self.hints: SeparatorHints | None = None
        if entity == PRODUCTS:
            self.hints = SeparatorHints(
                CATEGORY_PATH, self.category_separator, exclude=self.list_separator
            )
        elif entity == CATEGORIES:
            self.hints = SeparatorHints(PATH, self.category_separator)
        self._seen: dict[str, tuple[int, int]] = {}  # id -> (record hash, first row)

    def separator_note(self) -> str | None:
        """A report line when category values seem to use another separator."""
        return None if self.hints is None else self.hints.note(self.file_name, self.entity)

    def validate(self, raw: pd.DataFrame) -> ValidatedChunk:
        """Validate one chunk as read (with its row numbers)."""
        raw = self._pseudonymised(raw)
        frame = raw.rename(columns=self.section.rename)
        ignored = [c for c in frame.columns if c in self.section.ignored]
        frame = frame.drop(columns=ignored)  # a field ignored is neither set nor removed
        carried = frozenset(str(c) for c in frame.columns if c not in READER_COLUMNS)
        if CATEGORY_PATH in carried:
            carried |= {CATEGORY_IDS}
        checks = RowChecks(frame)
        method = getattr(self, f"_{self.entity}")
        records: pd.DataFrame = method(frame, checks)
        chains: pd.Series | None = None  # per product row the category paths it names
        if self.entity == PRODUCTS:
            records, chains = self._product_categories(frame, checks, records)
        if ABSENT in frame and self.entity in (PRODUCTS, USERS, CATEGORIES):
            records = records.assign(**{ABSENT: frame[ABSENT].map(self._renamed_keys)})
        duplicates = 0
        if self.entity in (PRODUCTS, BRANDS, CATEGORIES, USERS):
            duplicates_mask = self._duplicates(records, checks)
            records = records[~duplicates_mask]
            duplicates = int(duplicates_mask.sum())
        ok = checks.ok.reindex(records.index)
        records = records[ok.to_numpy(dtype=bool)]
        # only the rows accepted create the categories their paths name
        categories = [] if chains is None else chain_categories(chains.loc[records.index])
        rejected = ~checks.ok
        rejects = rejected_rows(
            raw.loc[rejected],
            self.file_name,
            checks.column[rejected].tolist(),
            checks.reason[rejected].tolist(),
        )
        return ValidatedChunk(records, rejects, duplicates, categories, carried)

    def _pseudonymised(self, raw: pd.DataFrame) -> pd.DataFrame:
        """The chunk with its shopper-id column (by its name in the file) pseudonymised."""
        field = _SHOPPER_FIELD.get(self.entity)
        if field is None or not self.pseudonymise.enabled:
            return raw
        columns = [c for c in raw.columns if self.section.renamed(str(c)) == field]
        if not columns:
            return raw
        out = raw.copy(deep=False)
        for column in columns:
            out[column] = pseudonymised(raw[column], self.pseudonymise)
        return out

    def _renamed_keys(self, keys: tuple[str, ...] | None) -> tuple[str, ...] | None:
        """A JSON Lines row's absent keys by their new names (``rename``)."""
        return None if keys is None else tuple(self.section.renamed(k) for k in keys)

    def _attrs(self, frame: pd.DataFrame, checks: RowChecks) -> pd.Series:
        """The chunk's extra columns as a dict per row (:func:`attributes`)."""
        limit = self.options.max_text_chars
        return attributes(frame, checks, self.section, CORE[self.entity], limit)

    # Entities -------------------------------------------------------------------------
    def _products(self, frame: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
        s = self.options
        out = pd.DataFrame(index=frame.index)
        out[ID] = checks.text(ID, required=True, limit=s.max_title_chars)
        out[TITLE] = checks.text(TITLE, required=True, limit=s.max_title_chars)
        out[DESCRIPTION] = checks.text(DESCRIPTION, required=False, limit=s.max_text_chars)
        price = checks.number(PRICE)
        checks.reject(price < 0, PRICE, NEGATIVE_PRICE + ": " + price.astype(str))
        out[PRICE] = price
        out[CURRENCY] = checks.text(CURRENCY, required=False, limit=s.max_title_chars)
        out[IN_STOCK] = checks.boolean(IN_STOCK)
        out[IMAGE_URL] = checks.text(IMAGE_URL, required=False, limit=s.max_text_chars)
        out[BRAND_ID] = checks.text(BRAND_ID, required=False, limit=s.max_title_chars)
        out[BRAND_NAME] = checks.text(BRAND_NAME, required=False, limit=s.max_title_chars)
        out[CATEGORY_IDS] = self._id_lists(frame, CATEGORY_IDS)
        out[_ATTRS] = self._attrs(frame, checks)
        return out

    def _product_categories(
        self, frame: pd.DataFrame, checks: RowChecks, records: pd.DataFrame
    ) -> tuple[pd.DataFrame, pd.Series | None]:
        """Add the leaves of ``category_path`` cells to the rows' category ids.

        Returns the records and per row the chains of its paths (None without
        the column); a cell naming no category leaves the row's ids as given.
        """
        if CATEGORY_PATH not in frame:
            return records, None
        paths = checks.text(CATEGORY_PATH, required=False, limit=self.options.max_text_chars)
        if self.hints is not None:
            cells = [c for c in paths.tolist() if isinstance(c, str)]
            self.hints.observe(v for c in cells for v in c.split(self.list_separator))
        chains = path_chains(paths, self.category_separator, self.list_separator)
        merged = []
        for given, found in zip(records[CATEGORY_IDS].tolist(), chains.tolist(), strict=True):
            if found is None:
                merged.append(given)
            else:
                leaves = [str(chain[-1][ID]) for chain in found]
                merged.append(list(dict.fromkeys((given or []) + leaves)))
        records = records.copy()
        records[CATEGORY_IDS] = pd.Series(merged, index=records.index, dtype=object)
        return records, chains

    def _id_lists(self, frame: pd.DataFrame, column: str) -> pd.Series:
        """A list-of-ids column: ``a|b`` texts (separator setting) or JSON / Parquet lists."""
        if column not in frame:
            return pd.Series([None] * len(frame), index=frame.index, dtype=object)
        sep = self.list_separator

        def split(value: object) -> list[str] | None:
            if isinstance(value, (list, tuple, np.ndarray)):  # [] clears the links
                return [v for v in (str(v).strip() for v in value) if v]
            if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
                return None
            items = [v.strip() for v in str(value).split(sep)]
            return [v for v in items if v] or None  # a text naming no id: the links stay

        return frame[column].map(split).astype(object)

    def _brands(self, frame: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
        out = pd.DataFrame(index=frame.index)
        out[ID] = checks.text(ID, required=True, limit=self.options.max_title_chars)
        if NAME in frame:  # no name: an existing brand keeps its own, a new one gets its id
            out[NAME] = checks.text(NAME, required=False, limit=self.options.max_title_chars)
        return out

    def _categories(self, frame: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
        limit = self.options.max_title_chars
        sep = self.category_separator
        out = pd.DataFrame(index=frame.index)
        trimmed = None  # a path without separators at its ends; only separators: missing
        if PATH in frame:
            trimmed = frame[PATH].map(lambda p: trim_path(p, sep) if isinstance(p, str) else p)
        required = PATH in frame and ID not in frame
        path = checks.text(PATH, required=required, limit=limit, values=trimmed)
        out[ID] = checks.text(ID, required=PATH not in frame, limit=limit)
        out[NAME] = checks.text(NAME, required=False, limit=limit)
        out[PARENT_ID] = checks.text(PARENT_ID, required=False, limit=limit)
        out[PATH] = path
        if self.hints is not None:
            self.hints.observe(path.tolist())
        leaves = path.map(lambda p: leaf(p, sep), na_action="ignore")
        out[ID] = out[ID].fillna(leaves)
        checks.reject(out[ID].isna(), ID, f"{MISSING}: a row needs an id or a path")
        out[NAME] = out[NAME].fillna(
            path.map(lambda p: leaf(p, sep, name=True), na_action="ignore")
        )  # still none: an existing category keeps its name, a new one gets its id
        return out

    def _users(self, frame: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
        out = pd.DataFrame(index=frame.index)
        out[ID] = checks.text(ID, required=True, limit=self.options.max_title_chars)
        out[_ATTRS] = self._attrs(frame, checks)
        return out

    def _interactions(self, frame: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
        limit = self.options.max_title_chars
        out = pd.DataFrame(index=frame.index)
        out[USER_ID] = checks.text(USER_ID, required=True, limit=limit)
        out[PRODUCT_ID] = checks.text(PRODUCT_ID, required=True, limit=limit)
        kind = checks.text(KIND, required=True, limit=limit).str.lower()
        if self.section.kinds:
            renamed = {k.lower(): v for k, v in self.section.kinds.items()}
            kind = kind.map(lambda k: renamed.get(k, k) if isinstance(k, str) else k)
        valid = ", ".join(INTERACTION_KINDS)
        checks.reject(
            kind.notna() & ~kind.isin(INTERACTION_KINDS),
            KIND,
            UNKNOWN_KIND + ": '" + kind.astype(str) + f"' (valid: {valid})",
        )
        out[KIND] = kind
        out[TS] = checks.timestamp(TS)
        out[VALUE] = checks.number(VALUE)
        out[WEIGHT] = checks.number(WEIGHT)
        self._reject_unknown(out, checks, USER_ID, USER, UNKNOWN_USER)
        self._reject_unknown(out, checks, PRODUCT_ID, PRODUCT, UNKNOWN_PRODUCT)
        return out

    def _kg(self, frame: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
        limit = self.options.max_title_chars
        out = pd.DataFrame(index=frame.index)
        for column in (HEAD, RELATION, TAIL):
            out[column] = checks.text(column, required=True, limit=limit)
        for column in (HEAD_KIND, TAIL_KIND, HEAD_NAME, TAIL_NAME):
            out[column] = checks.text(column, required=False, limit=limit)
        return out

    def _kg_links(self, frame: pd.DataFrame, checks: RowChecks) -> pd.DataFrame:
        limit = self.options.max_title_chars
        out = pd.DataFrame(index=frame.index)
        out[PRODUCT_ID] = checks.text(PRODUCT_ID, required=True, limit=limit)
        out[ENTITY_ID] = checks.text(ENTITY_ID, required=True, limit=limit)
        out[RELATION] = checks.text(RELATION, required=False, limit=limit)
        out[KIND] = checks.text(KIND, required=False, limit=limit)
        out[NAME] = checks.text(NAME, required=False, limit=limit)
        self._reject_unknown(out, checks, PRODUCT_ID, PRODUCT, UNKNOWN_PRODUCT)
        return out

    def _reject_unknown(
        self, out: pd.DataFrame, checks: RowChecks, column: str, label: str, reason: str
    ) -> None:
        """Reject the rows still valid whose ``column`` names a ``label`` node nobody knows.

        Known means written by this import or already in the graph.
        """
        ids = out[column].where(checks.ok)
        checks.reject(self.known.unknown(label, ids), column, reason + ": '" + ids + "'")

    # Duplicates -------------------------------------------------------------------------
    def _duplicates(self, records: pd.DataFrame, checks: RowChecks) -> pd.Series:
        """Reject ids repeated with other values; return a mask of exact repeats to drop."""
        ok = checks.ok.reindex(records.index).to_numpy(dtype=bool)
        drop = pd.Series(False, index=records.index)
        candidates = records[ok]
        if not len(candidates):
            return drop
        hashes = pd.util.hash_pandas_object(candidates.astype(str), index=False).to_numpy()
        rows = checks.frame.loc[candidates.index, ROW_NUMBER].to_numpy()
        conflict_rows: list[int] = []
        conflict_reasons: list[str] = []
        seen = self._seen
        positions = np.flatnonzero(ok)
        for position, (key, digest, row) in enumerate(
            zip(candidates[ID].tolist(), hashes.tolist(), rows.tolist(), strict=True)
        ):
            first = seen.get(key)
            if first is None:
                seen[key] = (digest, int(row))
            elif first[0] == digest:
                drop.iloc[positions[position]] = True
            else:
                conflict_rows.append(int(candidates.index[position]))
                conflict_reasons.append(f"{DUPLICATE_ID}: '{key}' (first at row {first[1]})")
        if conflict_rows:
            mask = pd.Series(False, index=checks.frame.index)
            mask[conflict_rows] = True
            reasons = pd.Series(pd.NA, index=checks.frame.index, dtype=object)
            reasons[conflict_rows] = conflict_reasons
            checks.reject(mask, ID, reasons)
        return drop
