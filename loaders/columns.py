"""Header checks before anything is written.

They cover required fields, the mapping's column names, and columns that look like
a misspelt field.

:func:`plan_columns` looks at one file's header and its mapping section:

- a required field missing, a mapping key (``rename``, ``keep``, ``ignore``,
  ``types``) naming a column the file does not have, or two columns renamed to
  one name is an error naming the file, the key, the columns found and the
  closest match;
- a column dropped because ``keep`` does not list it (and ``ignore`` does not)
  is reported as ignored, and a column kept as an attribute only because no
  ``keep`` list was given, whose name is close to a field the file lacks
  (``brand`` for ``brand_name``), is reported too; ``--strict`` refuses both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from kgrec.errors import DataValidationError, closest
from kgrec.loaders.constants import (
    BRAND_NAME,
    BRANDS,
    CATEGORIES,
    CATEGORY_PATH,
    HEAD_KIND,
    HEAD_NAME,
    INTERACTIONS,
    KG,
    KG_LINKS,
    PRODUCTS,
    READER_COLUMNS,
    TAIL_KIND,
    TAIL_NAME,
    USERS,
)
from kgrec.loaders.mapping import ColumnMapping, MappingSection
from kgrec.typing import (
    BRAND_ID,
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
    PRODUCT_ID,
    RELATION,
    TAIL,
    TITLE,
    TS,
    USER_ID,
    VALUE,
    WEIGHT,
)

REQUIRED: Final[Mapping[str, tuple[str, ...]]] = {
    PRODUCTS: (ID, TITLE),
    BRANDS: (ID,),
    CATEGORIES: (),
    USERS: (ID,),
    INTERACTIONS: (USER_ID, PRODUCT_ID, KIND, TS),
    KG: (HEAD, RELATION, TAIL),
    KG_LINKS: (PRODUCT_ID, ENTITY_ID),
}
CORE: Final[Mapping[str, tuple[str, ...]]] = {
    PRODUCTS: (
        ID, TITLE, DESCRIPTION, PRICE, CURRENCY, IN_STOCK, IMAGE_URL,
        BRAND_ID, BRAND_NAME, CATEGORY_IDS, CATEGORY_PATH,
    ),
    BRANDS: (ID, NAME),
    CATEGORIES: (ID, NAME, PARENT_ID, PATH),
    USERS: (ID,),
    INTERACTIONS: (USER_ID, PRODUCT_ID, KIND, TS, VALUE, WEIGHT),
    KG: (HEAD, RELATION, TAIL, HEAD_KIND, TAIL_KIND, HEAD_NAME, TAIL_NAME),
    KG_LINKS: (PRODUCT_ID, ENTITY_ID, RELATION, KIND, NAME),
}  # fmt: skip
# Entity kinds whose extra columns become attributes (the others drop them).
WITH_ATTRIBUTES: Final = (PRODUCTS, USERS)
_SHOWN_COLUMNS: Final = 30


def _did_you_mean(names: list[str]) -> str:
    return " or ".join(names)


@dataclass
class ColumnPlan:
    """What one file's header means under its mapping section.

    Attributes:
        file_name: the file, for messages.
        entity: its entity kind.
        renamed: the header after ``rename``.
        ignored: non-field columns dropped, with the closest missing field (or None).
        near_misses: non-field columns kept as attributes whose name is close to a
            field the file lacks, with that field.
    """

    file_name: str
    entity: str
    renamed: list[str]
    ignored: dict[str, list[str]] = field(default_factory=dict)
    near_misses: dict[str, list[str]] = field(default_factory=dict)

    def notes(self) -> list[str]:
        """Report lines naming ignored columns and near misses (empty when none)."""
        notes = []
        if self.ignored:
            listed = ", ".join(_with_hint(c, m) for c, m in self.ignored.items())
            notes.append(f"{self.file_name}: ignored columns: {listed}")
        for column, matches in self.near_misses.items():
            notes.append(
                f"{self.file_name}: kept as attribute {column} "
                f"(did you mean {_did_you_mean(matches)}?)"
            )
        if self.entity == PRODUCTS and BRAND_NAME in self.renamed and BRAND_ID not in self.renamed:
            notes.append(
                f"{self.file_name}: {BRAND_NAME} without {BRAND_ID}: a product links to a "
                f"brand by {BRAND_ID} only, so {BRAND_NAME} is not used; add a {BRAND_ID} "
                "column (or rename the brand column to it)"
            )
        return notes

    def refusal(self, mapping: ColumnMapping) -> str | None:
        """Why ``--strict`` refuses this header (None when it does not)."""
        if not (self.ignored or self.near_misses):
            return None
        names = ", ".join([*self.ignored, *self.near_misses])
        return (
            f"{self.file_name}: --strict: columns that are neither a field nor kept: {names}; "
            f"rename them to a field, or list them under keep (or ignore) in the "
            f"[{self.entity}] section of {mapping.source} (--mapping)"
        )


def _with_hint(column: str, matches: list[str]) -> str:
    return f"{column} (did you mean {_did_you_mean(matches)}?)" if matches else column


def plan_columns(
    entity: str,
    file_name: str,
    header: Sequence[str],
    mapping: ColumnMapping,
    *,
    check_mapping: bool = True,
) -> ColumnPlan:
    """Check a header against its entity's fields and mapping section.

    Args:
        entity: the entity the file holds (its fields are checked).
        file_name: the file's name, for messages.
        header: the file's column names.
        mapping: the file's mapping section (``rename``, ``keep``, ``ignore``, ``types``).
        check_mapping: also check the names the mapping gives and note ignored and
            misspelt columns (False for an adapter's made-up header).

    Raises:
        DataValidationError: every problem found, one per line: missing required
            columns, mapping keys naming absent columns, rename collisions.
    """
    section = mapping.section(entity)
    columns = [str(c) for c in header if c not in READER_COLUMNS]
    renamed = [section.renamed(c) for c in columns]
    found = f"(columns found: {_shown(columns)})"
    where = f"the [{entity}] section of {mapping.source}"
    problems: list[str] = []
    if check_mapping:
        for key, names in (
            ("rename", list(section.rename)),
            ("keep", section.keep or []),
            ("ignore", section.ignore),
            ("types", list(section.types)),
        ):
            for name in names:
                if name in columns or (key != "rename" and name in renamed):
                    continue
                hint = closest(name, columns)
                problems.append(
                    f"{key} names column {name!r}, which the file does not have"
                    + (f"; did you mean {hint[0]!r}?" if hint else "")
                )
    if check_mapping:
        problems += _field_entries(entity, section)
    seen: dict[str, str] = {}
    for original, new in zip(columns, renamed, strict=True):
        if new in seen:
            problems.append(f"columns {seen[new]!r} and {original!r} both become {new!r}")
        seen.setdefault(new, original)
    required = list(REQUIRED[entity])
    if entity == CATEGORIES:
        required = [] if PATH in renamed else [ID]
    for name in (c for c in required if c not in renamed):
        hint = closest(name, [c for c in columns if section.renamed(c) not in CORE[entity]])
        fix = f"did you mean {hint[0]!r}? rename it" if hint else "rename the column holding it"
        problems.append(f"row 0 (header), column {name}: required column missing; {fix}")
    if problems:
        raise DataValidationError(
            f"{file_name}: " + "; ".join(problems) + f" {found}; set rename, keep, ignore "
            f"and types in {where} (--mapping)"
        )
    plan = ColumnPlan(file_name, entity, renamed)
    if check_mapping:
        _note_extras(plan, mapping)
    return plan


def _field_entries(entity: str, section: MappingSection) -> list[str]:
    """Problems with ``ignore`` and ``types`` entries that name a field.

    An optional field can be ignored (its column is dropped: the import neither
    sets nor removes it); a required one cannot. A field's type is fixed, so
    ``types`` may name only extra columns.
    """
    required = {ID, PATH} if entity == CATEGORIES else set(REQUIRED[entity])
    problems = [
        f"ignore names {name!r}, the required field {section.renamed(name)!r}, which "
        "cannot be ignored"
        for name in section.ignore
        if section.renamed(name) in required
    ]
    fields = CORE[entity]
    problems += [
        f"types names {name!r}, the field {section.renamed(name)!r}, whose type is fixed; "
        f"types applies to extra columns only (the fields: {', '.join(fields)})"
        for name in section.types
        if section.renamed(name) in fields
    ]
    return problems


def _note_extras(plan: ColumnPlan, mapping: ColumnMapping) -> None:
    """Fill ``ignored`` and ``near_misses`` of a checked header."""
    section = mapping.section(plan.entity)
    core = CORE[plan.entity]
    absent = [f for f in core if f not in plan.renamed]
    if CATEGORY_PATH in plan.renamed or CATEGORY_IDS in plan.renamed:
        absent = [f for f in absent if f not in (CATEGORY_PATH, CATEGORY_IDS)]
    kept, ignored = section.kept, section.ignored
    for column in plan.renamed:
        if column in core or column in ignored:
            continue
        matches = closest(column, absent, n=2)
        dropped = plan.entity not in WITH_ATTRIBUTES or (kept is not None and column not in kept)
        if dropped:
            plan.ignored[column] = matches
        elif kept is None and matches:
            plan.near_misses[column] = matches


def _shown(columns: Sequence[str]) -> str:
    shown = ", ".join(columns[:_SHOWN_COLUMNS])
    more = len(columns) - _SHOWN_COLUMNS
    return shown + (f", ... ({more} more)" if more > 0 else "") if columns else "none"
