"""Names fixed once: node labels, relationship types, record fields, interaction kinds.

Cypher text lives in ``graph/`` only; these constants are the vocabulary that the
loaders, the GNN export and the API share with it.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

# Node labels -----------------------------------------------------------------
PRODUCT: Final = "Product"
BRAND: Final = "Brand"
CATEGORY: Final = "Category"
USER: Final = "User"
ENTITY: Final = "Entity"
NodeLabel = Literal["Product", "Brand", "Category", "User", "Entity"]
NODE_LABELS: Final[tuple[NodeLabel, ...]] = get_args(NodeLabel)

# Relationship types ------------------------------------------------------------
HAS_BRAND: Final = "HAS_BRAND"
IN_CATEGORY: Final = "IN_CATEGORY"
SUBCATEGORY_OF: Final = "SUBCATEGORY_OF"
INTERACTED: Final = "INTERACTED"
HAS_ENTITY: Final = "HAS_ENTITY"
RELATED: Final = "RELATED"
RelType = Literal[
    "HAS_BRAND", "IN_CATEGORY", "SUBCATEGORY_OF", "INTERACTED", "HAS_ENTITY", "RELATED"
]
REL_TYPES: Final[tuple[RelType, ...]] = get_args(RelType)

# Interaction times ---------------------------------------------------------------
# Unix seconds from 1970 up to 9999-12-31T23:59:59Z, for every way an interaction comes
# (the API's events, imported files): every ts converts to a date, and a millisecond
# timestamp (1.7e12 today) is refused instead of read as the year 55000.
MAX_TS: Final = 253_402_300_799

# Interaction kinds and their default weights -----------------------------------
InteractionKind = Literal["view", "click", "cart", "purchase", "rate"]
INTERACTION_KINDS: Final[tuple[InteractionKind, ...]] = get_args(InteractionKind)
DEFAULT_KIND_WEIGHTS: Final[dict[str, float]] = {
    "view": 1.0,
    "click": 2.0,
    "cart": 3.0,
    "purchase": 5.0,
    "rate": 3.0,
}

# Record fields (column names after mapping) ------------------------------------
ID: Final = "id"
TITLE: Final = "title"
DESCRIPTION: Final = "description"
PRICE: Final = "price"
CURRENCY: Final = "currency"
IN_STOCK: Final = "in_stock"
IMAGE_URL: Final = "image_url"
NAME: Final = "name"
PATH: Final = "path"
PARENT_ID: Final = "parent_id"
BRAND_ID: Final = "brand_id"
CATEGORY_IDS: Final = "category_ids"
USER_ID: Final = "user_id"
PRODUCT_ID: Final = "product_id"
KIND: Final = "kind"
TS: Final = "ts"
VALUE: Final = "value"
WEIGHT: Final = "weight"
RELATION: Final = "relation"
HEAD: Final = "head"
TAIL: Final = "tail"
ENTITY_ID: Final = "entity_id"
ATTRS: Final = "attrs"
# A product's core properties (its other properties come from ``attrs``).
PRODUCT_PROPERTIES: Final = (TITLE, DESCRIPTION, PRICE, CURRENCY, IN_STOCK, IMAGE_URL)
# A property older kgrec versions wrote on every node: no longer written, removed
# from a node when an upsert writes that node, never exported as text.
CONTENT_HASH: Final = "content_hash"
