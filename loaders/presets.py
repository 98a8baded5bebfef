"""Presets of the RecBole atomic-files adapter: how one dataset's fields map to kgrec."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kgrec.errors import invalid_choice
from kgrec.loaders.constants import AttrType
from kgrec.typing import InteractionKind


@dataclass(frozen=True)
class RecbolePreset:
    """Field names and knowledge-graph rules of one RecBole dataset.

    Attributes:
        name: the preset name (``ml-100k``), also the atomic files' stem.
        user_field, item_field: id fields of ``.user`` / ``.item`` / ``.inter``.
        rating_field: ``.inter`` field that becomes the interaction's ``value``.
        timestamp_field: ``.inter`` field that becomes ``ts`` (epoch seconds).
        kind: the interaction kind of every ``.inter`` row.
        title_field, year_field, genre_field: ``.item`` fields of the product text;
            the genres (a ``token_seq``) become categories.
        user_attr_types: types of ``.user`` fields kept as attributes.
        head_field, relation_field, tail_field, entity_field: ``.kg`` / ``.link`` fields.
        brand_relation: KG relation whose first tail becomes the product's brand.
        drop_relations: KG relations left out (inverse duplicates of kept ones).
        relation_kinds: entity kind of a relation's far end (default: the
            relation's last dotted part).
    """

    name: str
    user_field: str = "user_id"
    item_field: str = "item_id"
    rating_field: str | None = "rating"
    timestamp_field: str = "timestamp"
    kind: InteractionKind = "rate"
    title_field: str | None = None
    year_field: str | None = None
    genre_field: str | None = None
    user_attr_types: Mapping[str, AttrType] = field(default_factory=dict)
    head_field: str = "head_id"
    relation_field: str = "relation_id"
    tail_field: str = "tail_id"
    entity_field: str = "entity_id"
    brand_relation: str | None = None
    drop_relations: tuple[str, ...] = ()
    relation_kinds: Mapping[str, str] = field(default_factory=dict)

    def entity_kind(self, relation: str) -> str:
        """The kind of the entity at the far end of ``relation``."""
        return self.relation_kinds.get(relation, relation.rsplit(".", 1)[-1])

    @classmethod
    def named(cls, name: str) -> RecbolePreset:
        """A built-in preset by name.

        Raises:
            ConfigError: no preset of that name; the message lists them.
        """
        presets = {p.name: p for p in (_ml_100k(),)}
        if name not in presets:
            raise invalid_choice("preset", name, sorted(presets))
        return presets[name]


def _ml_100k() -> RecbolePreset:
    """MovieLens-100K with its Freebase KG, as shipped in RecBole 1.2.1."""
    film = "film.film."
    person = "person"
    return RecbolePreset(
        name="ml-100k",
        title_field="movie_title",
        year_field="release_year",
        genre_field="class",
        user_attr_types={"age": "int", "gender": "str", "occupation": "str", "zip_code": "str"},
        brand_relation=film + "production_companies",
        drop_relations=(
            "film.cinematographer.film",
            "film.content_rating.film",
            "film.director.film",
            "film.film_genre.films_in_this_genre",
            "film.film_subject.films",
            "film.producer.film",
            "film.production_company.films",
            "film.writer.film",
        ),
        relation_kinds={
            film + "actor": person,
            "film.actor.film": person,
            film + "directed_by": person,
            film + "written_by": person,
            film + "produced_by": person,
            film + "cinematography": person,
            film + "production_companies": "company",
            film + "genre": "genre",
            film + "language": "language",
            film + "country": "country",
            film + "award_nomination": "award",
            film + "award_won": "award",
            film + "rating": "content_rating",
            film + "subjects": "subject",
            film + "sequel": "film",
            film + "prequel": "film",
        },
    )
