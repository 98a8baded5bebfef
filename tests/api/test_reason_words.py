"""The wording of shared links (api/reason_words.py): no graph, no model."""

from __future__ import annotations

from typing import Any

from kgrec.api import reason_words
from kgrec.api.ranking import ReasonNode, ReasonRelation
from tests.utils.shop import DIRECTED_BY


def _relation(
    type_: str, node_id: str, name: str | None, relation: str | None = None, kind: str = "person"
) -> Any:
    label = {"HAS_BRAND": "Brand", "IN_CATEGORY": "Category"}.get(type_, "Entity")
    return {
        "type": type_,
        "relation": relation,
        "label": label,
        "id": node_id,
        "name": name,
        "kind": kind if label == "Entity" else None,
    }


def _phrase(*shared: Any, frequency: dict[Any, int] | None = None) -> str | None:
    return reason_words.shared_phrase(reason_words.relations_of(list(shared), frequency))


def test_shared_links_in_words() -> None:
    assert _phrase(_relation("HAS_BRAND", "acme", "Acme")) == "same brand, Acme"
    # a brand named by its id only (created from a product row without brand_name)
    assert _phrase(_relation("HAS_BRAND", "m.031rq5", "m.031rq5")) == "same brand"
    assert _phrase(_relation("HAS_ENTITY", "lucas", "George Lucas", DIRECTED_BY)) == (
        "both directed by George Lucas"
    )
    actors = [_relation("HAS_ENTITY", a, None, "film.film.actor") for a in ("m.01", "m.02")]
    assert _phrase(*actors) == "2 actors in common"
    won = [_relation("HAS_ENTITY", a, None, "film.film.award_won") for a in ("m.05", "m.06")]
    assert _phrase(*won) == "2 awards won in common"  # not "award wons"
    nominated = [_relation("HAS_ENTITY", a, None, "film.film.award_nomination") for a in "xy"]
    assert _phrase(*nominated) == "2 award nominations in common"
    shot = [_relation("HAS_ENTITY", a, None, "film.film.cinematography") for a in "xy"]
    assert _phrase(*shot) == "2 cinematographers in common"  # not "cinematographies"
    assert _phrase(shot[0]) == "same cinematographer"
    writers = [_relation("HAS_ENTITY", a, None, "film.film.written_by") for a in ("m.03", "m.04")]
    assert _phrase(*writers) == "both written by the same 2 people"
    assert _phrase() is None


def test_an_entity_without_a_name_is_told_by_its_relation_never_its_id() -> None:
    phrase = _phrase(_relation("HAS_ENTITY", "m.0abc12", None, DIRECTED_BY))
    assert phrase == "both directed by the same person"
    genre = _phrase(_relation("HAS_ENTITY", "m.0xyz", None, "film.film.genre"))
    assert genre == "same genre"
    # MovieLens-100K's MPAA ratings: "same rating" would read as the shopper's own
    rating = _relation("HAS_ENTITY", "m.0r", None, "film.film.rating", kind="content_rating")
    assert _phrase(rating) == "same content rating"


def test_what_every_result_shares_is_named_after_what_few_share() -> None:
    country = _relation("HAS_ENTITY", "m.usa", None, "film.film.country")
    director = _relation("HAS_ENTITY", "m.dir", None, DIRECTED_BY)
    brand = _relation("HAS_BRAND", "acme", "Acme")
    frequency = {("HAS_ENTITY", "film.film.country", "m.usa"): 10, ("HAS_BRAND", None, "acme"): 3}
    phrase = _phrase(country, brand, director, frequency=frequency)
    # two parts at most, the rarest in the answer first
    assert phrase == "both directed by the same person; same brand, Acme"


def test_relations_keep_the_readable_label_and_the_stored_relation() -> None:
    [relation] = reason_words.relations_of([_relation("HAS_ENTITY", "m.0x", None, DIRECTED_BY)])
    assert relation == ReasonRelation(
        "directed by", "HAS_ENTITY", DIRECTED_BY, ReasonNode("m.0x", "Entity", None, "person")
    )
