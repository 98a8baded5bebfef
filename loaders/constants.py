"""Names the loaders use beside the core field names of :mod:`kgrec.typing`."""

from __future__ import annotations

from typing import Final, Literal, get_args

# Entities an import can carry, in the order they are written -------------------
EntityKind = Literal["categories", "brands", "products", "users", "kg", "kg_links", "interactions"]
ENTITY_KINDS: Final[tuple[EntityKind, ...]] = get_args(EntityKind)
CATEGORIES: Final = "categories"
BRANDS: Final = "brands"
PRODUCTS: Final = "products"
USERS: Final = "users"
KG: Final = "kg"
KG_LINKS: Final = "kg_links"
INTERACTIONS: Final = "interactions"
# What the report calls the graph nodes / relationships each entity kind writes.
ENTITIES_WRITTEN: Final = "entities"

# Columns of a rejects file (before the original row's columns) -------------------
FILE: Final = "file"
ROW: Final = "row"
COLUMN: Final = "column"
REASON: Final = "reason"
REJECT_COLUMNS: Final = (FILE, ROW, COLUMN, REASON)
# The row number a reader adds to every chunk (1 = first data row, header excluded).
ROW_NUMBER: Final = "__row__"
# The keys a JSON Lines row lacks while other rows of its chunk have them (a
# tuple of the file's column names; None when the row has every key): such a key
# is not carried by that row, unlike a key given as null (an empty cell).
ABSENT: Final = "__absent__"
# Columns a reader adds beside the file's own.
READER_COLUMNS: Final = (ROW_NUMBER, ABSENT)

# Loader-only input columns ---------------------------------------------------------
BRAND_NAME: Final = "brand_name"
CATEGORY_PATH: Final = "category_path"
HEAD_KIND: Final = "head_kind"
TAIL_KIND: Final = "tail_kind"
HEAD_NAME: Final = "head_name"
TAIL_NAME: Final = "tail_name"

# Defaults ------------------------------------------------------------------------------
DEFAULT_ENTITY_KIND: Final = "entity"
DEFAULT_LINK_RELATION: Final = "has_entity"

# Rejection reasons (the start of the text; details follow after a colon) -----------
MISSING: Final = "missing required field"
NOT_A_NUMBER: Final = "not a number"
NOT_AN_INTEGER: Final = "not an integer"
NOT_FINITE: Final = "not a finite number"
OUT_OF_RANGE: Final = "out of the 64-bit integer range"
NOT_A_BOOLEAN: Final = "not a boolean"
NOT_A_TIMESTAMP: Final = "not a timestamp"
NEGATIVE_PRICE: Final = "negative price"
UNKNOWN_KIND: Final = "unknown kind"
UNKNOWN_USER: Final = "unknown user"
UNKNOWN_PRODUCT: Final = "unknown product"
UNKNOWN_PARENT: Final = "unknown parent category"
CATEGORY_CYCLE: Final = "category cycle"
DUPLICATE_ID: Final = "duplicate id with conflicting values"
TOO_LONG: Final = "text over the limit"

# File formats by suffix ------------------------------------------------------------
CSV_SUFFIXES: Final = (".csv", ".tsv", ".txt")
JSONL_SUFFIXES: Final = (".jsonl", ".ndjson", ".json")
PARQUET_SUFFIXES: Final = (".parquet", ".pq")

# Attribute types a mapping file may declare -----------------------------------------
AttrType = Literal["str", "int", "float", "bool"]
ATTR_TYPES: Final[tuple[AttrType, ...]] = get_args(AttrType)
