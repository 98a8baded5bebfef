"""StagedConfig: the staged ranking's settings, saved with each trained ranker."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal, get_args

from kgrec.errors import ConfigError, invalid_choice
from kgrec.gnn.ranking.features import RANK_CAP
from kgrec.gnn.ranking.ranker import RankerConfig

LEGACY_RANK_CAP: Final = 4096
"""The rank cap of the rankings saved before ``StagedConfig.rank_cap`` existed."""
ColdOrder = Literal["earliest", "random"]
"""Which of a simulated cold user's products are revealed (``StagedConfig.cold_order``)."""
COLD_ORDERS: Final = get_args(ColdOrder)


@dataclass(frozen=True)
class StagedConfig:
    """Settings of the staged ranking (saved with the ranker).

    Attributes:
        per_generator: candidates each generator proposes per user.
        top_up: the generator proposing, per user, as many more of its next
            best as the generator with the fewest products above its floor left
            empty ("" = none; :func:`~kgrec.gnn.ranking.candidates.generator_proposals`).
        fresh_share: share of answer positions kept for fresh products (0 = off).
        fresh_temperature: the temperature of the fresh order's random draw per
            shopper (:func:`~kgrec.gnn.ranking.slots.fresh_draw_noise`; z units of
            the cold order, 0 = every shopper gets the cold order as it is).
        fresh_generators: the generators whose scores order fresh products (their
            z-scores over the fresh products are summed).
        fresh_popularity: the content generators whose neighbours' interaction
            counts predict a fresh product's popularity
            (:func:`~kgrec.gnn.ranking.fresh_popularity.neighbour_popularity`); their
            z-scores join the sum.
        cold_reveal: history lengths the cold groups simulate.
        cold_users: validation users re-scored per simulated history length.
        min_cold_history: training products a user needs to be simulated cold.
        cold_order: which ``k`` products of a simulated cold user are revealed:
            its earliest, in order, as a new shopper's first events come (and as
            the cold_user views reveal them), or ``k`` at random.
        cold_folds: the simulated cold users are split into this many folds, and
            each fold is scored by copies of the generators refitted without its
            users' pairs, as a real new shopper meets tables that never saw it
            (0 = by the generators as fitted, which counted their hidden pairs).
        fresh_history: the content generators whose order a shopper gets when every
            product it interacted with is fresh (added online since the version, or
            never interacted with): their z-scores at the candidates are summed (no
            co-interaction table holds such products, and the ranker never learnt
            from such a history; () = the ranker's order).
        without_history: the generator whose order a shopper without history gets
            the candidates in, not the ranker's ("" = the ranker's). The ranker
            measured 3 % below popularity there (every generator it reads falls
            back to popularity); peer popularity, from the shopper's declared
            attributes, measured 11 % above it (docs/ranking-log.md).
        rank_cap: ranks each generator's rank feature tells apart
            (:data:`~kgrec.gnn.ranking.features.RANK_CAP`).
        ranker: LightGBM hyper-parameters.
    """

    per_generator: int = 100
    top_up: str = "popularity"
    fresh_share: float = 0.1
    fresh_temperature: float = 0.5
    fresh_generators: tuple[str, ...] = ("gnn", "text_knn")
    fresh_popularity: tuple[str, ...] = ("kg_knn", "text_knn")
    cold_reveal: tuple[int, ...] = (0, 1, 3)
    cold_users: int = 300
    min_cold_history: int = 8
    cold_order: ColdOrder = "earliest"
    cold_folds: int = 0
    fresh_history: tuple[str, ...] = ("text_knn", "kg_knn")
    without_history: str = "peer_popularity"
    rank_cap: int = RANK_CAP
    ranker: RankerConfig = field(default_factory=RankerConfig)

    def __post_init__(self) -> None:
        """Refuse a reveal order outside :data:`COLD_ORDERS` and a negative fold count.

        Raises:
            ConfigError: the value and the valid ones.
        """
        if self.cold_order not in COLD_ORDERS:
            raise invalid_choice("cold_order", self.cold_order, COLD_ORDERS)
        if self.cold_folds < 0:
            raise ConfigError(f"cold_folds={self.cold_folds} is not valid; use 0 or more")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (saved with the ranker)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StagedConfig:
        """The config :meth:`to_dict` wrote."""
        fields = dict(data)
        # saved before these settings: the behaviour the ranker was trained with
        if "popularity_without_history" in fields:
            on = fields.pop("popularity_without_history")
            fields["without_history"] = "popularity" if on else ""
        fields.setdefault("without_history", "")
        fields.setdefault("rank_cap", LEGACY_RANK_CAP)
        fields.setdefault("top_up", "")
        fields.setdefault("cold_order", "random")
        fields.setdefault("cold_folds", 0)
        fields["fresh_generators"] = tuple(fields.get("fresh_generators", ()))
        fields["fresh_popularity"] = tuple(fields.get("fresh_popularity", ()))
        fields["fresh_history"] = tuple(fields.get("fresh_history", ()))
        fields["cold_reveal"] = tuple(fields.get("cold_reveal", ()))
        fields["ranker"] = RankerConfig(**fields.get("ranker", {}))
        return cls(**fields)
