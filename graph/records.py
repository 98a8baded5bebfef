"""Row shapes the graph layer writes (what loaders and the API hand to GraphStore).

Values are plain Python scalars or lists of scalars (Bolt property types).
Optional keys may be absent or None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict


class ProductRow(TypedDict):
    """A product. ``attrs`` become node properties beside the core fields."""

    id: str
    title: str
    description: NotRequired[str | None]
    price: NotRequired[float | None]
    currency: NotRequired[str | None]
    in_stock: NotRequired[bool | None]
    image_url: NotRequired[str | None]
    brand_id: NotRequired[str | None]
    brand_name: NotRequired[str | None]
    category_ids: NotRequired[list[str] | None]
    attrs: NotRequired[dict[str, Any]]


class BrandRow(TypedDict):
    id: str
    name: str


class CategoryRow(TypedDict):
    """A category; ``parent_id`` links it into the tree (None = a root)."""

    id: str
    name: str
    parent_id: NotRequired[str | None]
    path: NotRequired[str | None]


class UserRow(TypedDict):
    id: str
    attrs: NotRequired[dict[str, Any]]


class InteractionRow(TypedDict):
    """One event; (user_id, product_id, kind, ts) identifies it."""

    user_id: str
    product_id: str
    kind: str
    ts: int
    value: NotRequired[float | None]
    weight: NotRequired[float | None]


class EntityRow(TypedDict):
    id: str
    kind: str
    name: NotRequired[str | None]


class EntityLinkRow(TypedDict):
    """Product -> entity, with the knowledge-graph relation name."""

    product_id: str
    entity_id: str
    relation: str


class TripleRow(TypedDict):
    """Entity -> entity, with the knowledge-graph relation name."""

    head: str
    relation: str
    tail: str


@dataclass
class UpsertCounts:
    """How many rows of a batch created, changed or left a node as it was."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: UpsertCounts) -> UpsertCounts:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged
