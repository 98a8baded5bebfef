"""Row shapes the graph layer writes (what loaders and the API hand to GraphStore).

Values are plain Python scalars or lists of scalars (Bolt property types).

Node upserts merge by default: a key the row carries (a core field or a key of
``attrs``) is written, a key carried with the value None removes that property,
and a key the row does not carry leaves the node's property untouched. With
``replace=True`` the node keeps exactly the row's non-None keys (and its ``id``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict


class ProductRow(TypedDict):
    """A product. ``attrs`` become node properties beside the core fields.

    Properties (core fields and ``attrs`` keys): an absent key leaves the node's
    property untouched, a key given as None removes it (merge mode, the default of
    :meth:`kgrec.graph.GraphStore.upsert_products`). Links: ``brand_id`` and
    ``category_ids`` replace the product's brand / category set only when given
    and not None; absent or None leaves the links as they are. ``brand_name``
    names a brand the row creates (an existing brand's name is never changed).
    """

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
    """A brand.

    Without ``name`` a new brand is named by its id and an existing brand keeps its
    name (with ``replace=True`` it is named by its id).
    """

    id: str
    name: NotRequired[str]


class CategoryRow(TypedDict):
    """A category, linked into the tree by ``parent_id`` when given.

    Absent or None, the category's parent link is left as it is. Without ``name``
    an existing category keeps its name (a new one has none: :mod:`loaders` names
    it by its id).
    """

    id: str
    name: NotRequired[str]
    parent_id: NotRequired[str | None]
    path: NotRequired[str | None]


class UserRow(TypedDict):
    """A user; ``attrs`` become node properties (absent key = untouched, None = remove)."""

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
    """A knowledge-graph entity (absent key = untouched, None = remove)."""

    id: str
    kind: NotRequired[str]
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


class SharedLink(TypedDict):
    """A node two products both link to by the same relationship type and relation.

    Read by :meth:`kgrec.graph.GraphStore.pair_links`.
    """

    type: str
    relation: str | None
    label: str
    id: str
    name: str | None
    kind: str | None


class PairLinks(TypedDict):
    """What a history product ``via`` and a recommended product ``item`` share.

    Their shared graph links, and the kinds of the shopper's interactions with ``via``.
    """

    via: str
    item: str
    shared: list[SharedLink]
    kinds: list[str]


@dataclass
class UpsertCounts:
    """How many rows created, changed or left a node as it was, read from the graph.

    ``updated`` counts rows that changed at least one property or link of an
    existing node; ``removed`` counts the properties removed (summed over nodes).
    """

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    def __iadd__(self, other: UpsertCounts) -> UpsertCounts:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.removed += other.removed
        return self

    @property
    def total(self) -> int:
        """Rows created, updated or unchanged (removed ones not counted)."""
        return self.created + self.updated + self.unchanged


@dataclass(frozen=True)
class ForgottenUser:
    """What a deleted user node held (:meth:`kgrec.graph.GraphStore.delete_user`).

    Its properties (``id`` and its declared attributes) and how many relationships of it
    (interactions) were deleted with it.
    """

    props: dict[str, Any]
    relationships: int
