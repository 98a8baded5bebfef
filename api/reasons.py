"""Reasons: why each product of an answer was recommended, in words and as data.

A reason is grounded in what ranked the product, not in any path the graph happens
to hold:

* **what proposed it**: the candidate generators of the learned ranking that had the
  product among their top ``per_generator`` for this shopper (taken from the same
  scores the stages computed, :meth:`kgrec.api.personal.PersonalRanking.served_with_proposers`),
  ``query`` when it is in the query's text order as far, ``fresh`` at a fresh-product
  slot; for the fused ranking, the largest term of its score;
* **the history product that contributes most**, by the model's own similarity: the
  history (or context) product ``i`` with the largest ``M[i, product]`` in the
  neighbour tables (``kg_knn``, ``item_knn``, ``implicit_item_knn``; a proposing
  generator's table first), else, when ``text_knn`` proposed it, the history product
  whose text vector is closest;
* **what links the two in the graph**: the brand, categories and knowledge-graph
  entities both link to by the same relation, read for every (history product,
  product) pair of the answer in **one** graph read
  (:meth:`kgrec.graph.GraphStore.pair_links`), or "shoppers who chose it also chose this"
  when only co-interaction (item-kNN) links them.

Rendered as a short sentence ("Because you rated Star Wars: both directed by the
same person"). An entity without a name (MovieLens' Freebase ids) is named by its
relation, never by its id. When the graph does not answer, a reason keeps what
needs no graph (the generators and the history product) and the request never fails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import torch

from kgrec.api.ranking import (
    RankedItem,
    Reason,
    ReasonKind,
    ReasonLink,
    ReasonNode,
    ReasonProduct,
    ReasonRelation,
)
from kgrec.api.reason_words import answer_frequency, relations_of, shared_phrase
from kgrec.gnn.ranking.served import RECENT_TABLE
from kgrec.gnn.ranking.tables import NeighbourTable
from kgrec.graph.records import PairLinks
from kgrec.typing import PRODUCT, USER

TABLE_ORDER: Final = ("kg_knn", "item_knn", "implicit_item_knn", "next_item")
"""Neighbour tables a history product is looked for in, a proposing generator's first."""
TABLE_OF: Final = {"recent_item_knn": RECENT_TABLE}
"""Generators that read another generator's neighbour table (no table of their own)."""
CO_INTERACTION: Final = frozenset({"item_knn", "implicit_item_knn"})
"""Tables whose link means shoppers interacted with both products."""
TEXT: Final = "text_knn"
PEERS: Final = "peer_popularity"
QUERY: Final = "query"
CONTEXT: Final = "context"
FRESH: Final = "fresh"
# The shopper's interaction with a history product, strongest first, as words.
_DID: Final = (
    ("purchase", "you bought {}"),
    ("rate", "you rated {}"),
    ("cart", "you put {} in your cart"),
    ("click", "you clicked on {}"),
    ("view", "you viewed {}"),
)
LinkReader = Callable[[str | None, Sequence[tuple[str, str]]], list[PairLinks] | None]
"""Reads what (via, item) product pairs share for a shopper; None: the graph did not answer."""


@dataclass(frozen=True)
class Grounds:
    """What ranked one answer, as its reasons read it.

    Attributes:
        user_id: the shopper (None: anonymous).
        user_known: the service holds a vector for the shopper.
        query: the request's query text.
        history: int64 [H] product rows of the shopper's history (the artifact
            version's interactions and the events recorded online).
        context: int64 [C] product rows being viewed (the context product).
        proposers: learned ranking: product row -> what proposed it (see
            :func:`learned_proposers`); None: the fused ranking.
        has_peers: peer popularity weighs the shopper's own most alike shoppers
            (it is in the version's training snapshot and declared something).
    """

    user_id: str | None
    user_known: bool
    query: str | None
    history: np.ndarray
    context: np.ndarray
    proposers: Mapping[int, tuple[str, ...]] | None = None
    has_peers: bool = False


@dataclass(frozen=True)
class Via:
    """The product a reason goes through.

    Its ``row``, id and title, the neighbour table (or ``text_knn``, or ``graph``:
    the fused score's context vector) that chose it, and whether it is the context
    product rather than a history one.
    """

    row: int
    product: ReasonProduct
    source: str
    context: bool


def learned_proposers(
    served: np.ndarray,
    proposed: Mapping[str, np.ndarray],
    ranker_scores: np.ndarray,
    query_rows: np.ndarray | None,
    per_generator: int,
) -> dict[int, tuple[str, ...]]:
    """Row -> what proposed it, for the rows of one learned answer.

    Args:
        served: int64 [S] the served rows, best first.
        proposed: generator -> bool [S], it had the row in its top ``per_generator``.
        ranker_scores: float [S] the ranker's scores (NaN: a fresh-product slot).
        query_rows: int64 [Q] the query's text order, best first (None: no query);
            its first ``per_generator`` count as the ``query`` proposer.
        per_generator: candidates each generator proposes.
    """
    out: dict[int, list[str]] = {int(r): [] for r in served.tolist()}
    for name, mask in proposed.items():
        for r in served[mask].tolist():
            out[int(r)].append(name)
    for r in served[np.isnan(ranker_scores)].tolist():
        out[int(r)].append(FRESH)
    if query_rows is not None:
        for r in query_rows[:per_generator].tolist():
            out.setdefault(int(r), []).append(QUERY)
    return {r: tuple(names) for r, names in out.items()}


def explain_items(
    items: Sequence[RankedItem],
    rows: Sequence[int],
    grounds: Grounds,
    *,
    product: Callable[[int], ReasonProduct],
    tables: Mapping[str, NeighbourTable],
    texts: torch.Tensor | None,
    read_links: LinkReader | None,
) -> list[RankedItem]:
    """The items with their reason (and ``explanation``: the reason's path as dicts).

    Graph cost: one read (``read_links``) for all the items, none when no item
    goes through a history or context product.

    Args:
        items: one answer's products, best first.
        rows: [len(items)] their served rows.
        grounds: what ranked the answer.
        product: served row -> its id and title.
        tables: the version's neighbour tables by generator name ([P, P]; rows
            past P, products added online, have none); empty: none stored.
        texts: [P', T] the served rows' text vectors (for a ``text_knn`` history product).
        read_links: one graph read for all pairs (None: no graph).
    """
    sources = [_sources(item, row, grounds) for item, row in zip(items, rows, strict=True)]
    vias = _vias(rows, sources, grounds, tables, texts, product)
    pairs = sorted({(v.product.id, item.id) for v, item in zip(vias, items, strict=True) if v})
    links: dict[tuple[str, str], PairLinks] = {}
    if pairs and read_links is not None:
        found = read_links(grounds.user_id, pairs)
        links = {(p["via"], p["item"]): p for p in found or []}
    shared_by = answer_frequency(links.values())
    out = []
    for item, source, via in zip(items, sources, vias, strict=True):
        pair = None if via is None else links.get((via.product.id, item.id))
        reason = make_reason(item, source, via, pair, grounds, shared_by)
        out.append(replace(item, reason=reason, explanation=reason.path_dicts()))
    return out


def _sources(item: RankedItem, row: int, grounds: Grounds) -> tuple[str, ...]:
    """Name what proposed the item.

    The learned ranking's proposers (the text order is the context product's when
    there is no query: ``context``), or the fused score's largest term (``graph``,
    ``text``, ``popularity``).
    """
    if grounds.proposers is not None:
        found = grounds.proposers.get(row, ())
        if grounds.query is None:
            found = tuple(CONTEXT if s == QUERY else s for s in found)
        return found
    s = item.score
    terms = {"graph": s.graph, "text": s.text, "popularity": s.popularity}
    return (max(terms, key=lambda t: terms[t]),)


def _vias(
    rows: Sequence[int],
    sources: Sequence[tuple[str, ...]],
    grounds: Grounds,
    tables: Mapping[str, NeighbourTable],
    texts: torch.Tensor | None,
    product: Callable[[int], ReasonProduct],
) -> list[Via | None]:
    """Per item, the context or history product that contributes most (None: none).

    A context product that any table links to the item comes first.
    """
    context = np.unique(grounds.context.astype(np.int64))
    history = np.setdiff1d(np.unique(grounds.history.astype(np.int64)), context)
    by_context = Contributions(context, rows, tables)
    by_history = Contributions(history, rows, tables)
    out: list[Via | None] = []
    for j, src in enumerate(sources):
        pick = by_context.best(j, src, texts)
        is_context = pick is not None
        if pick is None:
            pick = by_history.best(j, src, texts)
        if pick is None and grounds.proposers is None and len(context):
            pick = (int(context[0]), "graph")  # the fused score's vector is the context's
            is_context = True
        out.append(None if pick is None else Via(pick[0], product(pick[0]), pick[1], is_context))
    return out


class Contributions:
    """Read ``M[i, item]`` of every candidate history row ``i`` for one answer's items.

    Per neighbour table, with one sparse slice per table, not one per item.

    Args:
        history: int64 [H] candidate rows (history or context products).
        rows: [K] the items' served rows.
        tables: neighbour tables by generator name.
    """

    def __init__(
        self, history: np.ndarray, rows: Sequence[int], tables: Mapping[str, NeighbourTable]
    ) -> None:
        self.history = history
        self.rows = np.asarray(rows, np.int64)
        self.votes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name in TABLE_ORDER:
            table = tables.get(name)
            if table is None or not len(history):
                continue
            size = table.matrix.shape[0]
            inside = history[history < size]
            cols = np.minimum(self.rows, size - 1)
            votes = np.asarray(table.matrix[inside][:, cols].toarray(), np.float32)  # [H', K]
            votes[:, self.rows >= size] = 0.0  # products added online: in no table
            self.votes[name] = (inside, votes)

    def best(
        self, j: int, sources: Sequence[str], texts: torch.Tensor | None
    ) -> tuple[int, str] | None:
        """The history row with the largest ``M[i, item j]`` and the table's name.

        The tables are tried in :data:`TABLE_ORDER`, those among ``sources`` first;
        the first with a positive entry decides. Failing them, when ``text_knn`` is
        among ``sources``, the history product whose text vector is closest.
        """
        if not len(self.history):
            return None
        wanted = {TABLE_OF.get(s, s) for s in sources}
        first = [t for t in TABLE_ORDER if t in wanted]
        for name in first + [t for t in TABLE_ORDER if t not in first]:
            if name not in self.votes:
                continue
            inside, votes = self.votes[name]
            if len(inside) and float(votes[:, j].max()) > 0:
                return int(inside[int(np.argmax(votes[:, j]))]), name
        if TEXT in sources and texts is not None:
            index = torch.from_numpy(self.history).to(texts.device)
            sims = texts[index] @ texts[int(self.rows[j])]
            return int(self.history[int(torch.argmax(sims))]), TEXT
        return None


def make_reason(
    item: RankedItem,
    sources: tuple[str, ...],
    via: Via | None,
    pair: PairLinks | None,
    grounds: Grounds,
    shared_by: Mapping[tuple[str, str | None, str], int] | None = None,
) -> Reason:
    """Build the reason of one item.

    From what proposed it (``sources``), the product it goes through (``via``) and
    what the graph says the two share (``pair``; None when the graph was not read or
    did not answer); ``shared_by``: :func:`answer_frequency`.
    """
    relations = tuple(relations_of(pair["shared"], shared_by)) if pair is not None else ()
    parts: list[str] = []
    kind: ReasonKind
    query_led = grounds.query is not None and (
        QUERY in sources or (grounds.proposers is None and sources == ("text",))
    )
    knows_taste = grounds.user_known or len(grounds.history) > 0
    if query_led:
        parts.append(f"matches your search '{grounds.query}'")
    if via is not None:
        parts.append(_because(via, pair, relations))
        kind = "query" if query_led else ("context" if via.context else "history")
    elif query_led:
        kind = "query"
    elif FRESH in sources:
        parts.append("new in the catalogue")
        kind = "fresh"
    elif knows_taste and ("gnn" in sources or sources == ("graph",)):
        parts.append("close to your taste, as the graph model learned it")
        kind = "taste"
    elif len(grounds.history) > 0 and "als" in sources:  # ALS solves the shopper from it
        parts.append("shoppers with tastes like yours chose it")
        kind = "taste"
    elif grounds.has_peers and PEERS in sources:
        parts.append("popular with shoppers like you")
        kind = "popularity"
    else:
        parts.append("popular with shoppers")
        kind = "popularity"
    sentence = "; ".join(parts)
    if via is not None and FRESH in sources:
        sentence += " (new in the catalogue)"
    return Reason(
        sentence=sentence[:1].upper() + sentence[1:],
        kind=kind,
        generators=sources,
        via=via.product if via is not None else None,
        relations=relations,
        path=_path(item, via, pair, relations, grounds) if via is not None else (),
    )


def _because(via: Via, pair: PairLinks | None, relations: Sequence[ReasonRelation]) -> str:
    """'because you rated X: <what links them>'."""
    title = via.product.title
    if via.context:
        clause = f"you are viewing {title}"
    else:
        kinds = set(pair["kinds"]) if pair is not None else set()
        did = next((words for kind, words in _DID if kind in kinds), None)
        clause = did.format(title) if did is not None else f"{title} is in your history"
    link = shared_phrase(relations) or _table_phrase(via.source)
    return f"because {clause}: {link}" if link else f"because {clause}"


def _table_phrase(source: str) -> str | None:
    """What links two products when the graph names nothing they share (or was not read).

    It is what the table that chose the history product measures.
    """
    if source in CO_INTERACTION:
        return "shoppers who chose it also chose this"
    if source == "next_item":
        return "shoppers who chose it went on to choose this"
    if source == TEXT:
        return "a similar description"
    if source == "kg_knn":
        return "linked to it in the catalogue graph"
    return None


def _path(
    item: RankedItem,
    via: Via,
    pair: PairLinks | None,
    relations: Sequence[ReasonRelation],
    grounds: Grounds,
) -> tuple[ReasonNode | ReasonLink, ...]:
    """Shopper (or the context product) -> via -> what they share -> the item."""
    steps: list[ReasonNode | ReasonLink] = []
    if not via.context and grounds.user_id is not None:
        kinds = pair["kinds"] if pair is not None else []
        kind = next((k for k, _ in _DID if k in kinds), None)
        steps += [ReasonNode(grounds.user_id, USER), ReasonLink("INTERACTED", kind=kind)]
    steps.append(ReasonNode(via.product.id, PRODUCT, via.product.title))
    end = ReasonNode(item.id, PRODUCT, item.title)
    if relations:
        first = relations[0]
        link = ReasonLink(first.type, relation=first.relation)
        steps += [link, first.node, link, end]
    else:
        steps += [ReasonLink("SIMILAR", generator=via.source), end]
    return tuple(steps)
