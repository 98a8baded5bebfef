"""The HTTP models of a ranked answer (/recommendations, /search, /items/{id}/similar).

Each is validated from the engine's result objects (:mod:`kgrec.api.ranking`:
``RankedOut.model_validate(ranked_list)``), nested parts included.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _FromResult(BaseModel):
    """An answer model read from the engine's result objects (``model_validate(obj)``)."""

    model_config = ConfigDict(from_attributes=True)


class ScoreOut(_FromResult):
    """The terms of a result's score.

    Fused ranking: ``graph`` = w_graph·<h_u,h_i>, ``text`` = w_text·<e_q,t_i>,
    ``popularity`` = w_pop·pop(i), ``total`` their sum. Learned ranking: ``graph`` =
    <h_u,h_i>, ``text`` = <e_q,t_i>, ``popularity`` = pop(i), ``ranker`` the learned
    ranker's score (null at a fresh-product slot), ``total`` the reciprocal-rank
    fusion of the personal and the query order the answer is sorted by.
    """

    graph: float
    text: float
    popularity: float
    total: float
    ranker: float | None = None


class ReasonNodeOut(_FromResult):
    """A graph node a reason names."""

    id: str = Field(description="The kgrec id.")
    label: str = Field(description="Node label: Product, Brand, Category, Entity or User.")
    name: str | None = Field(
        description="A product's title or a node's name; null when it has none (a Freebase id)."
    )
    kind: str | None = Field(None, description="An entity's kind ('person', 'genre'), if any.")


class ReasonLinkOut(_FromResult):
    """A relationship on a reason's path."""

    type: str = Field(
        description="INTERACTED, HAS_BRAND, IN_CATEGORY, HAS_ENTITY; or SIMILAR: not stored, "
        "the neighbour table (generator) that links the two products."
    )
    kind: str | None = Field(None, description="An interaction's kind (purchase, rate, ...).")
    relation: str | None = Field(None, description="The knowledge-graph relation, as stored.")
    generator: str | None = Field(
        None,
        description="SIMILAR only: item_knn / implicit_item_knn (shoppers chose both), "
        "next_item (shoppers went on from one to the other), kg_knn (graph neighbours), "
        "text_knn (close descriptions), graph (the context vector).",
    )


class ReasonProductOut(_FromResult):
    """The history or context product a reason goes through."""

    id: str
    title: str


class ReasonRelationOut(_FromResult):
    """One thing the history product and the recommended one both link to."""

    label: str = Field(description="Readable: 'brand', 'category', 'directed by', ...")
    type: str = Field(description="HAS_BRAND, IN_CATEGORY or HAS_ENTITY.")
    relation: str | None = Field(description="The knowledge-graph relation, as stored.")
    node: ReasonNodeOut


class ReasonOut(_FromResult):
    """Why a product was recommended, grounded in what ranked it (docs/api.md, Reasons)."""

    sentence: str = Field(
        description="In words: 'Because you rated Star Wars: both directed by George Lucas'."
    )
    kind: Literal["history", "context", "query", "fresh", "taste", "popularity"] = Field(
        description="What the sentence rests on first."
    )
    generators: list[str] = Field(
        description="What proposed the product: learned ranking generators (gnn, popularity, "
        "peer_popularity, text_knn, item_knn, recent_item_knn, next_item, implicit_item_knn, "
        "kg_knn, als) that had it in their top "
        "per_generator, plus query and fresh; fused ranking: the largest score term."
    )
    via: ReasonProductOut | None = Field(
        description="The history (or context) product that contributes most, by the "
        "neighbour tables' similarity; null when none does."
    )
    relations: list[ReasonRelationOut] = Field(
        description="What via and the product share in the graph, most telling first."
    )
    path: list[ReasonNodeOut | ReasonLinkOut] = Field(
        description="Alternating nodes and relationships: shopper (or context product) -> "
        "via -> a shared node -> the product; empty without via."
    )


class ItemOut(_FromResult):
    """One ranked product."""

    id: str
    title: str
    price: float | None
    in_stock: bool
    brand_id: str | None
    category_ids: list[str]
    score: ScoreOut
    reason: ReasonOut | None = Field(
        None, description="Why it was recommended (with explain=true; docs/api.md, Reasons)."
    )
    explanation: list[dict[str, Any]] | None = Field(
        None,
        description="With explain=true: reason.path as plain dicts (nodes: label, id, name; "
        "relationships: type, kind/relation/generator), null when the reason has no path. "
        "Kept for older clients; GET /explain gives the shortest graph path.",
    )


class ArmOut(_FromResult):
    """The experiment arm that served an answer (docs/experiments.md)."""

    experiment: str
    arm: str


class RankedOut(_FromResult):
    """A ranked list and how it was made."""

    items: list[ItemOut]
    artifact_version: str
    strategy: Literal["user", "context", "query", "popularity"] = Field(
        description="user: trained/online user vector; context: context item; query: text only; "
        "popularity: nothing else known."
    )
    user_known: bool
    candidates: int = Field(
        description="Candidates scored that passed the filters (learned ranking: of the "
        "positions of its list read, KGREC_SERVING__CANDIDATES_SERVED or all of them)."
    )
    notes: list[str] = []
    ranking: Literal["learned", "fused"] = Field(
        "fused",
        description="learned: the staged ranking with the trained ranker the artifact version "
        "holds; fused: the default weights (no ranker, or filters left too few of its results).",
    )
    request_id: str | None = Field(
        None,
        description="This answer's id (32 hex digits; /recommendations and /search): send "
        "it back with the events it led to (POST /events) to credit its arm.",
    )
    arm: ArmOut | None = Field(
        None,
        description="The experiment and arm that served the answer; null when no "
        "experiment is active or the request named neither a user_id nor a session_id.",
    )
