"""Reason wording: what two products share in the graph, as relations and as words.

:func:`relations_of` orders the brand, categories and entities a (history
product, recommended product) pair shares (what is telling first, weighed over
the answer by :func:`answer_frequency`); :func:`shared_phrase` says the first
of them in a few words ("both directed by George Lucas", "2 actors in common").
:mod:`kgrec.api.reasons` builds each reason's sentence around them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from kgrec.api.ranking import ReasonNode, ReasonRelation
from kgrec.graph.explorer import RELATIONSHIP_LABELS, readable_relation
from kgrec.graph.records import PairLinks, SharedLink

MAX_LINK_PARTS: Final = 2
"""Shared relations a sentence names (all of them are in ``relations``)."""

_TYPE_ORDER: Final = {"HAS_ENTITY": 0, "HAS_BRAND": 1, "IN_CATEGORY": 2}


def answer_frequency(links: Iterable[PairLinks]) -> dict[tuple[str, str | None, str], int]:
    """(type, relation, node id) -> how many pairs of one answer share that node."""
    out: dict[tuple[str, str | None, str], int] = {}
    for pair in links:
        for key in {(s["type"], s["relation"], str(s["id"])) for s in pair["shared"]}:
            out[key] = out.get(key, 0) + 1
    return out


def relations_of(
    shared: Sequence[SharedLink],
    shared_by: Mapping[tuple[str, str | None, str], int] | None = None,
) -> list[ReasonRelation]:
    """The shared links as relations, in the order a sentence names them.

    What is telling comes first: relations (type and relation) by the sum, over
    their shared nodes, of 1 / the number of the answer's pairs sharing that node
    (``shared_by``, :func:`answer_frequency`: a country every result shares says
    little, a director two products share says much; an IDF over the answer, as
    KG-kNN weighs nodes over the catalogue), then entities before brand before
    category, named nodes first.
    """
    out = [
        ReasonRelation(
            label=readable_relation(s["relation"])
            if s["relation"]
            else RELATIONSHIP_LABELS.get(s["type"], s["type"].lower()),
            type=s["type"],
            relation=s["relation"],
            node=ReasonNode(
                id=str(s["id"]), label=s["label"], name=_name(s), kind=s["kind"] or None
            ),
        )
        for s in shared
    ]
    weight: dict[tuple[str, str | None], float] = {}
    for r in out:
        seen = max((shared_by or {}).get((r.type, r.relation, r.node.id), 1), 1)
        weight[(r.type, r.relation)] = weight.get((r.type, r.relation), 0.0) + 1.0 / seen
    return sorted(
        out,
        key=lambda r: (
            -round(weight[(r.type, r.relation)], 9),
            _TYPE_ORDER.get(r.type, len(_TYPE_ORDER)),
            r.relation or "",
            r.node.name is None,
            r.node.id,
        ),
    )


def _name(link: SharedLink) -> str | None:
    """The node's name; None when it has none or it merely repeats the id.

    A brand created from a product row without a ``brand_name`` is named by its id
    (``graph.GraphStore.upsert_products``): on MovieLens-100K a Freebase id such as
    ``m.031rq5``, which a sentence must not show.
    """
    name = link["name"]
    return name if name and name != str(link["id"]) else None


def shared_phrase(relations: Sequence[ReasonRelation]) -> str | None:
    """Say in words what two products share; None when they share nothing.

    The words cover the first :data:`MAX_LINK_PARTS` groups (relationship type and
    relation) of ``relations``.

    One node: "same brand, Acme", "same genre" (no name), "both directed by George
    Lucas", "both directed by the same person" (no name: the relation and the
    entity's kind, never its id). Several: "2 actors in common", "both written by
    the same 2 people".
    """
    groups: dict[tuple[str, str | None], list[ReasonRelation]] = {}
    for r in relations:
        groups.setdefault((r.type, r.relation), []).append(r)
    parts = [_group_phrase(g) for g in list(groups.values())[:MAX_LINK_PARTS]]
    return "; ".join(parts) if parts else None


def _group_phrase(group: Sequence[ReasonRelation]) -> str:
    words = group[0].label
    if _noun(group[0]) == "person" and words.endswith("graphy"):
        words = f"{words[:-1]}er"  # a person linked by "cinematography" is a cinematographer
    passive = words.endswith(" by")
    if len(group) == 1:
        name = group[0].node.name
        if passive:
            return f"both {words} {name}" if name else f"both {words} the same {_noun(group[0])}"
        if name:
            return f"same {words}, {name}"
        kind = _noun(group[0])  # "content rating" says more than the relation's "rating"
        return f"same {kind if kind.endswith(' ' + words) else words}"
    if passive:
        return f"both {words} the same {len(group)} {_plural(_noun(group[0]))}"
    return f"{len(group)} {_plural(words)} in common"


def _noun(relation: ReasonRelation) -> str:
    """What the shared node is, in a word: an entity's kind, else its node label."""
    return (relation.node.kind or relation.node.label).replace("_", " ").lower()


_PARTICIPLES: Final = frozenset({"won", "held", "made", "given", "sold", "worn"})
"""Last words of a relation that qualify the noun before them (``award won``)."""


def _plural(noun: str) -> str:
    head, _, tail = noun.rpartition(" ")
    if head and (tail in _PARTICIPLES or tail.endswith("ed")):
        return f"{_plural(head)} {tail}"  # "award won" -> "awards won"
    if noun == "person":
        return "people"
    if noun.endswith("s"):
        return noun
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"
