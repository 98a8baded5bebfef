"""Typed request and response models of the HTTP API (pydantic).

The models of a ranked answer are in :mod:`kgrec.api.ranked_schemas`. Request models
are strict: a JSON number is never read from a string or a boolean, an integer
field refuses ``1e2`` and ``true``, and every float is finite and bounded
(``1e309`` parses to infinity in JSON and is refused). The bounds are constants
here, stated in the OpenAPI schema and in docs/api.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, cast

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt
from pydantic_core import PydanticCustomError

from kgrec.api.ranking import Filters
from kgrec.graph.records import InteractionRow, ProductRow
from kgrec.typing import MAX_TS, InteractionKind

MAX_ID_CHARS: Final = 256
MAX_QUERY_CHARS: Final = 1000
MAX_TITLE_CHARS: Final = 1000
MAX_DESCRIPTION_CHARS: Final = 20_000
MAX_LIST_ITEMS: Final = 50
MAX_PRICE: Final = 1e9
# An event's value (a rating, an amount): finite, |value| <= 1e9.
MAX_ABS_VALUE: Final = 1e9
# The largest KGREC_SERVING__MAX_K accepted by the settings; the OpenAPI schema states the
# configured max_k (api.app), and a k above it is a 422.
MAX_K_CAP: Final = 10_000
MAX_ITEMS_PER_CALL: Final = 1000
MAX_EVENTS_PER_CALL: Final = 10_000
REQUEST_ID_PATTERN: Final = r"^[0-9a-f]{32}$"

_CONTROL = frozenset(chr(c) for c in (*range(0x20), 0x7F))
# JSON-schema statements of the id rules (checked by the validators below, whose
# messages say what is wrong; pydantic's own pattern check would only quote the regex).
REF_ID_PATTERN: Final = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
NEW_ID_PATTERN: Final = r"^[^/\x00-\x1f\x7f]*[^/\s\x00-\x1f\x7f][^/\x00-\x1f\x7f]*$"


def _ref_id(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("id_blank", "an id must not be blank")
    if any(ch in _CONTROL for ch in value):
        raise PydanticCustomError(
            "id_control_character", "an id must not contain control characters (newline, tab, ...)"
        )
    return value


def _new_id(value: str) -> str:
    _ref_id(value)
    if "/" in value:
        raise PydanticCustomError(
            "id_slash", "an id must not contain '/' (it would not fit in a URL path)"
        )
    return value


RefId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_ID_CHARS,
        json_schema_extra={"pattern": REF_ID_PATTERN},
        description="An id: 1..256 characters, not blank, no control characters.",
    ),
    AfterValidator(_ref_id),
]
"""An id that names something that exists (a product in an event, a category)."""

NewId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_ID_CHARS,
        json_schema_extra={"pattern": NEW_ID_PATTERN},
        description="An id: 1..256 characters, not blank, no '/', no control characters.",
    ),
    AfterValidator(_new_id),
]
"""An id the request may create (a product, a user, an event id)."""

Price = Annotated[float, Field(ge=0, le=MAX_PRICE, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class FiltersIn(BaseModel):
    """Business filters, declared once for the body and the query string.

    The body fields of POST /search (:class:`SearchIn`) and the query parameters of
    GET /recommendations and GET /items/{id}/similar (:class:`FiltersQuery`).

    A ``min_price`` above ``max_price`` is a 422 (:func:`kgrec.api.deps.check_price_range`).
    """

    categories: list[RefId] = Field(
        default_factory=list,
        max_length=MAX_LIST_ITEMS,
        description="Category ids (descendants included), at most 50 (a query string "
        "repeats the parameter).",
    )
    brands: list[RefId] = Field(
        default_factory=list,
        max_length=MAX_LIST_ITEMS,
        description="Brand ids, at most 50 (a query string repeats the parameter).",
    )
    min_price: Price | None = Field(None, description="0..1e9.")
    max_price: Price | None = Field(None, description="0..1e9, at least min_price.")
    in_stock_only: bool = False

    def to_filters(self) -> Filters:
        """The engine's filters."""
        return Filters(
            categories=tuple(self.categories),
            brands=tuple(self.brands),
            min_price=self.min_price,
            max_price=self.max_price,
            in_stock_only=self.in_stock_only,
        )


_QUERY_NAMES: Final = {"categories": "category", "brands": "brand"}


class FiltersQuery(FiltersIn):
    """:class:`FiltersIn` as query parameters.

    One ``category`` / ``brand`` parameter per id (repeated); values are read from
    the query string's text (not strict), and the route's other parameters are left
    to it (a name no route reads is refused: :mod:`kgrec.api.query_params`).
    """

    model_config = ConfigDict(alias_generator=lambda name: _QUERY_NAMES.get(name, name))


class SearchIn(_Strict, FiltersIn):
    """POST /search body."""

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    user_id: RefId | None = None
    session_id: RefId | None = Field(
        None, description="An anonymous visitor's session: assigns the experiment arm."
    )
    k: StrictInt = Field(
        10, ge=1, le=MAX_K_CAP, description="Results wanted (1..KGREC_SERVING__MAX_K)."
    )
    explain: bool = False


class ItemFields(_Strict):
    """A product's fields (all but its id): the body of ``PUT /items/{id}``.

    ``price``: 0..1e9, finite. ``category_ids`` must name categories that exist
    (422 naming the unknown one); ``brand_id`` names a brand, created when missing
    (named ``brand_name`` or its id).
    """

    title: str = Field(min_length=1, max_length=MAX_TITLE_CHARS)
    description: str | None = Field(None, max_length=MAX_DESCRIPTION_CHARS)
    price: Price | None = None
    currency: str | None = Field(None, min_length=3, max_length=3)
    in_stock: bool = True
    brand_id: RefId | None = None
    brand_name: str | None = Field(None, max_length=MAX_TITLE_CHARS)
    category_ids: list[RefId] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)

    def to_row_for(self, item_id: str) -> ProductRow:
        """The graph row that replaces product ``item_id``.

        Every field, None for the ones left out (removed from the node).
        """
        return cast(ProductRow, {"id": item_id, **self.model_dump()})


class ItemIn(ItemFields):
    """One product to upsert (``POST /items``).

    Only the fields the request carries are written: an existing product keeps the
    ones left out, and ``null`` removes one (a new product left without
    ``in_stock`` is in stock). ``brand_id`` / ``category_ids``, when given, replace
    the product's brand / categories.
    """

    id: NewId

    def to_row(self) -> ProductRow:
        """The graph row that merges this product: only the fields the request carried."""
        return cast(ProductRow, self.model_dump(exclude_unset=True))


class ItemsIn(_Strict):
    """POST /items body: 1..1000 products, each id once."""

    items: list[ItemIn] = Field(min_length=1, max_length=MAX_ITEMS_PER_CALL)


class ItemsOut(BaseModel):
    """Products accepted and now served."""

    added: list[str]
    artifact_version: str
    items_served: int


class EventIn(_Strict):
    """One interaction.

    (user, product, kind, ts) identifies an interaction: sending it again changes
    nothing (the answer counts it in ``unchanged``). Without ``ts`` the second of
    receipt is used: the same event sent again a second or more later is stored
    again, within the same second it is the same interaction. Give it an
    ``event_id`` (or a ``ts``) to make retries safe.
    """

    user_id: NewId
    product_id: RefId
    kind: InteractionKind
    ts: StrictInt | None = Field(
        None,
        ge=0,
        le=MAX_TS,
        description="Unix seconds (0..253402300799, up to year 9999); default: the time "
        "of receipt, or the ts first stored for this event_id.",
    )
    value: float | None = Field(
        None,
        ge=-MAX_ABS_VALUE,
        le=MAX_ABS_VALUE,
        allow_inf_nan=False,
        description="A rating or amount, finite, -1e9..1e9.",
    )
    event_id: NewId | None = Field(
        None,
        description="Idempotency key: an event_id already stored (for 24 hours) is not "
        "written again; it must come with the same user, product, kind, value and ts.",
    )
    request_id: str | None = Field(
        None,
        pattern=REQUEST_ID_PATTERN,
        description="The request_id of the answer that led to this event (32 hex "
        "digits): the event is logged with it for `kgrec ab-report`.",
    )

    def to_row(self, received_ts: int) -> InteractionRow:
        """The graph row of this event.

        At its ``ts`` or, without one, ``received_ts`` (the time of receipt, or the
        ``ts`` first stored for its ``event_id``).
        """
        ts = self.ts if self.ts is not None else received_ts
        return {
            "user_id": self.user_id,
            "product_id": self.product_id,
            "kind": self.kind,
            "ts": ts,
            "value": self.value,
        }


class EventsIn(_Strict):
    """POST /events body: 1..10,000 events, each event_id once."""

    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS_PER_CALL)


class EventsOut(BaseModel):
    """Events written and users whose vectors were recomputed."""

    accepted: int
    users_updated: list[str]
    repeated: int = Field(
        0, description="Events whose event_id was stored before (written already: no change)."
    )
    unchanged: int = Field(
        0,
        description="Events the graph held already, the same user, product, kind and ts (a "
        "re-sent event, or one without ts sent again within the same second): no change.",
    )


class ExplainOut(BaseModel):
    """GET /explain answer."""

    user_id: str
    item_id: str
    path: list[dict[str, Any]] | None = Field(
        description="Shortest graph path (at most 4 hops), None when there is none."
    )


class HealthOut(BaseModel):
    """GET /health answer."""

    status: Literal["ok", "degraded"]
    graph: Literal["up", "down", "none"]
    artifact_version: str
    items: int
    device: str
    indexes: dict[str, Any]
    detail: str | None = None


class ErrorOut(BaseModel):
    """Every error answer."""

    detail: str
