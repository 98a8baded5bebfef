"""Typed request and response models of the HTTP API (pydantic)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.ranking import RankedList
from kgrec.typing import InteractionKind


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScoreOut(BaseModel):
    """Weighted terms of the fused score: w_graph·<h_u,h_i>, w_text·<e_q,t_i>, w_pop·pop(i)."""

    graph: float
    text: float
    popularity: float
    total: float


class ItemOut(BaseModel):
    """One ranked product."""

    id: str
    title: str
    price: float | None
    in_stock: bool
    brand_id: str | None
    category_ids: list[str]
    score: ScoreOut
    explanation: list[dict[str, Any]] | None = Field(
        None, description="Graph path user -> product: alternating node and relationship dicts."
    )


class RankedOut(BaseModel):
    """A ranked list and how it was made."""

    items: list[ItemOut]
    artifact_version: str
    strategy: Literal["user", "context", "query", "popularity"] = Field(
        description="user: trained/online user vector; context: context item; query: text only; "
        "popularity: nothing else known."
    )
    user_known: bool
    candidates: int = Field(description="Candidates scored after filters.")
    notes: list[str] = []


class SearchIn(_Strict):
    """POST /search body."""

    query: str = Field(min_length=1, max_length=1000)
    user_id: str | None = Field(None, min_length=1, max_length=256)
    k: int = Field(10, ge=1)
    categories: list[str] = Field(default_factory=list, max_length=50)
    brands: list[str] = Field(default_factory=list, max_length=50)
    min_price: float | None = Field(None, ge=0)
    max_price: float | None = Field(None, ge=0)
    in_stock_only: bool = False
    explain: bool = False


class ItemIn(_Strict):
    """One product to upsert.

    Only the fields the request carries are written: an existing product keeps the
    ones left out, and ``null`` removes one (a new product left without
    ``in_stock`` is in stock). ``brand_id`` / ``category_ids``, when given, replace
    the product's brand / categories.
    """

    id: str = Field(min_length=1, max_length=256)
    title: str = Field(min_length=1, max_length=1000)
    description: str | None = Field(None, max_length=20_000)
    price: float | None = Field(None, ge=0)
    currency: str | None = Field(None, min_length=3, max_length=3)
    in_stock: bool = True
    brand_id: str | None = Field(None, min_length=1, max_length=256)
    brand_name: str | None = Field(None, max_length=1000)
    category_ids: list[str] = Field(default_factory=list, max_length=50)


class ItemsIn(_Strict):
    """POST /items body."""

    items: list[ItemIn] = Field(min_length=1, max_length=1000)


class ItemsOut(BaseModel):
    """Products accepted and now served."""

    added: list[str]
    artifact_version: str
    items_served: int


class EventIn(_Strict):
    """One interaction."""

    user_id: str = Field(min_length=1, max_length=256)
    product_id: str = Field(min_length=1, max_length=256)
    kind: InteractionKind
    ts: int | None = Field(None, ge=0, description="Unix seconds; default now.")
    value: float | None = None


class EventsIn(_Strict):
    """POST /events body."""

    events: list[EventIn] = Field(min_length=1, max_length=10_000)


class EventsOut(BaseModel):
    """Events written and users whose vectors were recomputed."""

    accepted: int
    users_updated: list[str]


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


def ranked_out(ranked: RankedList) -> RankedOut:
    """The HTTP model of an engine answer."""
    return RankedOut(
        items=[
            ItemOut(
                id=i.id,
                title=i.title,
                price=i.price,
                in_stock=i.in_stock,
                brand_id=i.brand_id,
                category_ids=list(i.category_ids),
                score=ScoreOut(**i.score.__dict__),
                explanation=i.explanation,
            )
            for i in ranked.items
        ],
        artifact_version=ranked.artifact_version,
        strategy=ranked.strategy,
        user_known=ranked.user_known,
        candidates=ranked.candidates,
        notes=ranked.notes,
    )
