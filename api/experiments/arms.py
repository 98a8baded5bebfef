"""The experiments' frozen dataclasses: what an arm changes and who is in it."""

from __future__ import annotations

from dataclasses import dataclass

from kgrec.errors import NotFoundError


@dataclass(frozen=True)
class RankingOverrides:
    """What an arm changes in the ranking of one request (None = the setting's value).

    Attributes:
        ranker: False serves the fused default weights even when the artifact version
            holds a learned ranker (``KGREC_SERVING__RANKER``).
        w_query: the query's weight in the learned ranking's fusion (``KGREC_SERVING__W_QUERY``).
        w_link: the weight of the personal order within the category a query names
            (``KGREC_SERVING__W_LINK``; 0 = no link).
        fresh_share: share of answer positions kept for fresh products
            (``KGREC_SERVING__FRESH_SHARE``; 0 = none).
        fresh_temperature: temperature of each shopper's draw of the fresh order
            (``KGREC_SERVING__FRESH_TEMPERATURE``; 0 = the cold order as it is).
        generators: the candidate generators allowed to propose products to the
            learned ranker (a subset of ``kgrec.gnn.ranking.fitting.SERVED_GENERATORS``).
        artifact_version: the artifact version (a directory under
            ``<data_dir>/artifacts``) that serves the arm, pinned: a promotion does not
            move it; None = the version LATEST names (``kgrec.api.wiring.Services.engine_for``).
    """

    ranker: bool | None = None
    w_query: float | None = None
    w_link: float | None = None
    fresh_share: float | None = None
    fresh_temperature: float | None = None
    generators: tuple[str, ...] | None = None
    artifact_version: str | None = None


@dataclass(frozen=True)
class Arm:
    """One arm: its name, its traffic share (0..1) and what it changes."""

    name: str
    share: float
    overrides: RankingOverrides = RankingOverrides()


@dataclass(frozen=True)
class Experiment:
    """An experiment: its arms, the first of which is the control.

    Attributes:
        name: the experiment's name (hashed with each shopper's id).
        arms: at least two arms whose shares sum to 1.
        active: False keeps the experiment for ``kgrec ab-report`` only.
    """

    name: str
    arms: tuple[Arm, ...]
    active: bool = True

    @property
    def control(self) -> Arm:
        """The first arm: the one the others are compared with."""
        return self.arms[0]

    def arm(self, name: str) -> Arm:
        """The arm called ``name``.

        Raises:
            NotFoundError: no such arm (the valid names listed).
        """
        for arm in self.arms:
            if arm.name == name:
                return arm
        names = ", ".join(repr(a.name) for a in self.arms)
        raise NotFoundError(f"experiment {self.name!r} has no arm {name!r}; its arms: {names}")


@dataclass(frozen=True)
class Assignment:
    """The arm one request is served by.

    Attributes:
        experiment: the experiment's name.
        arm: the arm's name.
        unit: what was hashed: ``user`` (the user id) or ``session`` (the session id).
        overrides: what the arm changes in the ranking.
    """

    experiment: str
    arm: str
    unit: str
    overrides: RankingOverrides
