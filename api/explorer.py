"""What the web explorer (``/ui``) reads besides rankings.

That is a product's neighbourhood as a small graph, and the filter facets.

The neighbourhood joins two sources: the graph (the product's brand, categories with
their ancestors, knowledge-graph entities, read by :mod:`kgrec.graph.explorer`) and the
served vectors (the products :meth:`kgrec.api.engine.Engine.similar` ranks closest). The
similar products' own links to the same brand, categories and entities are drawn
too, so the picture shows what they share. When the graph does not answer, the
similar products are still given, with a note saying what was left out.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, Field

from kgrec.api.engine import Engine
from kgrec.errors import GraphConnectionError, ServiceUnavailableError
from kgrec.graph import GraphStore
from kgrec.graph import explorer as gx
from kgrec.graph.explorer import RELATIONSHIP_LABELS, readable_relation
from kgrec.typing import CATEGORY, PRODUCT, SUBCATEGORY_OF

MAX_LINKS: Final = 200
MAX_SIMILAR: Final = 25
MAX_FACETS: Final = 1000
MAX_FACET_USERS: Final = 200

DrawnLabel = Literal["Product", "Brand", "Category", "Entity"]
"""The labels a neighbourhood drawing shows: kgrec.typing.DrawnLabel without ``User``."""
NodeRole = Literal["centre", "similar", "linked"]


class GraphNodeOut(BaseModel):
    """One node of a neighbourhood drawing."""

    id: str = Field(description="Unique in the answer: '<label>:<kgrec id>'.")
    label: DrawnLabel
    key: str = Field(description="The kgrec id (a product id for label Product).")
    name: str = Field(description="Title or name; the id when the node has none.")
    kind: str | None = Field(None, description="An entity's kind, when the graph has one.")
    role: NodeRole = Field(
        description="centre: the product asked for; similar: a product the served vectors "
        "rank close to it; linked: a brand, category or entity."
    )
    score: float | None = Field(None, description="A similar product's score (total).")


class GraphEdgeOut(BaseModel):
    """One relationship of a neighbourhood drawing (``source`` -> ``target``)."""

    source: str
    target: str
    type: Literal["HAS_BRAND", "IN_CATEGORY", "SUBCATEGORY_OF", "HAS_ENTITY", "SIMILAR"]
    label: str = Field(description="Readable: 'brand', 'category', 'directed by', ...")
    relation: str | None = Field(None, description="The knowledge-graph relation, as stored.")


class NeighbourhoodOut(BaseModel):
    """GET /items/{item_id}/neighbourhood answer: a small graph around one product."""

    item_id: str
    title: str
    artifact_version: str
    nodes: list[GraphNodeOut]
    edges: list[GraphEdgeOut]
    graph: Literal["up", "down", "none"] = Field(
        description="up: links read from the graph; down/none: similar products only."
    )
    truncated: bool = Field(description="The bound ``limit`` left some links out.")
    notes: list[str] = []


class CategoryFacet(BaseModel):
    """A category to filter on (its descendants are included by the filter)."""

    id: str
    name: str
    parent_id: str | None


class BrandFacet(BaseModel):
    """A brand to filter on."""

    id: str
    name: str


class FacetsOut(BaseModel):
    """GET /facets answer: filter choices for the explorer."""

    categories: list[CategoryFacet]
    brands: list[BrandFacet]
    users: list[str] = Field(description="A few shopper ids to try (the first by id).")
    truncated: bool


def _node_id(label: str, key: str) -> str:
    return f"{label}:{key}"


class _Drawing:
    """Nodes and edges of one answer, each once."""

    def __init__(self) -> None:
        self.nodes: dict[str, GraphNodeOut] = {}
        self.edges: dict[tuple[str, str, str, str | None], GraphEdgeOut] = {}

    def node(self, node: GraphNodeOut) -> None:
        self.nodes.setdefault(node.id, node)

    def edge(self, source: str, target: str, type_: str, relation: str | None = None) -> None:
        label = readable_relation(relation) if relation else RELATIONSHIP_LABELS[type_]
        key = (source, target, type_, relation)
        if key not in self.edges:
            self.edges[key] = GraphEdgeOut(
                source=source,
                target=target,
                type=type_,
                label=label,
                relation=relation,
            )


def _link_node(link: gx.Link) -> GraphNodeOut:
    return GraphNodeOut(
        id=_node_id(link.label, link.dst),
        label=link.label,
        key=link.dst,
        name=link.name,
        kind=link.kind,
        role="linked",
    )


def _graph_state(engine: Engine, store: GraphStore | None) -> Literal["up", "down", "none"]:
    if store is None:
        return "none"
    return "up" if engine.graph_up() else "down"


def neighbourhood(
    engine: Engine,
    store: GraphStore | None,
    item_id: str,
    *,
    similar: int = 8,
    limit: int = 40,
) -> NeighbourhoodOut:
    """The product, its links (at most ``limit`` of each kind read) and ``similar`` products.

    Raises:
        NotFoundError: the product is not served.
    """
    engine.require_item(item_id, "item_id")
    drawing = _Drawing()
    centre = _node_id(PRODUCT, item_id)
    notes: list[str] = []
    truncated = False
    title = item_id
    graph = _graph_state(engine, store)
    links: gx.ProductLinks | None = None
    if store is not None and graph == "up":
        try:
            links = gx.product_links(store, item_id, limit)
        except GraphConnectionError as e:
            graph = "down"
            notes.append(f"the graph server stopped answering ({e})")
    if links is not None:
        title = links.title
        truncated |= links.truncated
    drawing.node(GraphNodeOut(id=centre, label=PRODUCT, key=item_id, name=title, role="centre"))

    ranked = engine.similar(item_id, k=similar) if similar > 0 else None
    similar_ids = [i.id for i in ranked.items] if ranked is not None else []
    if ranked is not None:
        for item in ranked.items:
            nid = _node_id(PRODUCT, item.id)
            drawing.node(
                GraphNodeOut(
                    id=nid,
                    label=PRODUCT,
                    key=item.id,
                    name=item.title,
                    role="similar",
                    score=round(item.score.total, 4),
                )
            )
            drawing.edge(centre, nid, "SIMILAR")

    if links is not None and store is not None:
        for link in links.links:
            drawing.node(_link_node(link))
            drawing.edge(centre, _node_id(link.label, link.dst), link.type, link.relation)
        try:
            categories = [link.dst for link in links.links if link.label == CATEGORY]
            ancestors, cut = gx.category_ancestors(store, categories, limit)
            truncated |= cut
            for child, parent, name in ancestors:
                pid = _node_id(CATEGORY, parent)
                drawing.node(
                    GraphNodeOut(id=pid, label=CATEGORY, key=parent, name=name, role="linked")
                )
                drawing.edge(_node_id(CATEGORY, child), pid, SUBCATEGORY_OF)
            hubs = [link.dst for link in links.links]
            shared, cut = gx.shared_links(store, similar_ids, hubs, limit)
            truncated |= cut
            for link in shared:
                target = _node_id(link.label, link.dst)
                if target in drawing.nodes:
                    drawing.edge(_node_id(PRODUCT, link.src), target, link.type, link.relation)
        except GraphConnectionError as e:
            graph = "down"
            notes.append(f"the graph server stopped answering ({e}); some links are left out")
    if graph != "up":
        notes.append(
            "brand, categories and entities are left out: the graph server "
            + ("is not configured" if graph == "none" else "does not answer")
            + "; the similar products come from the served vectors"
        )
    return NeighbourhoodOut(
        item_id=item_id,
        title=title,
        artifact_version=engine.version,
        nodes=list(drawing.nodes.values()),
        edges=list(drawing.edges.values()),
        graph=graph,
        truncated=truncated,
        notes=notes,
    )


def facets(engine: Engine, store: GraphStore | None, *, limit: int, users: int) -> FacetsOut:
    """Categories and brands (at most ``limit`` each) and ``users`` shopper ids.

    Raises:
        ServiceUnavailableError: no graph, or it does not answer.
    """
    if store is None or not engine.graph_up():
        raise ServiceUnavailableError(
            "the filter choices come from the graph, which does not answer; type category "
            "and brand ids by hand, or retry when /health reports the graph up"
        )
    try:
        found = gx.facets(store, limit, users)
    except GraphConnectionError as e:
        raise ServiceUnavailableError(
            f"the filter choices come from the graph, which does not answer ({e}); "
            "retry when /health reports the graph up"
        ) from e
    return FacetsOut(
        categories=[CategoryFacet.model_validate(c) for c in found.categories],
        brands=[BrandFacet.model_validate(b) for b in found.brands],
        users=found.users,
        truncated=found.truncated,
    )
