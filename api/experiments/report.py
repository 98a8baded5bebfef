"""The A/B report: the event log tallied per experiment and arm.

The statistics are those of :mod:`kgrec.api.experiments.stats`.

An answer (impression) is *clicked* when at least one ``click`` event names its
``request_id``, and *converted* when at least one ``purchase`` does: CTR and
conversion are shares of answers, so every answer counts once however many
events it brought. The first arm (the experiments file's order, else the arm
called ``control``, else the first arm seen in the log) is the control every
other arm is compared with.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Final, Literal

from kgrec.api.experiments.log import Record
from kgrec.api.experiments.stats import Difference, Proportion, difference, sample_size, wilson
from kgrec.errors import NotFoundError

Metric = Literal["ctr", "conversion"]
METRICS: Final[tuple[Metric, ...]] = ("ctr", "conversion")
METRIC_KIND: Final[dict[Metric, str]] = {"ctr": "click", "conversion": "purchase"}
CONTROL_NAME: Final = "control"


@dataclass
class ArmTally:
    """What the log holds for one arm."""

    impressions: int = 0
    answers_with: Counter[str] = field(default_factory=Counter)  # kind -> answers
    events: Counter[str] = field(default_factory=Counter)  # kind -> events


@dataclass(frozen=True)
class MetricRow:
    """One metric of one arm.

    Attributes:
        proportion: answers with the event / answers, with its 95 % interval.
        vs_control: the difference to the control's rate (None for the control).
        needed: answers per arm the MDE needs at the report's alpha and power,
            from the control's rate.
        still_needed: ``needed`` minus this arm's answers so far (0 when reached).
    """

    proportion: Proportion
    vs_control: Difference | None
    needed: int
    still_needed: int


@dataclass(frozen=True)
class ArmReport:
    """One arm: its counts and its metrics."""

    arm: str
    impressions: int
    clicks: int
    purchases: int
    metrics: dict[Metric, MetricRow]


@dataclass(frozen=True)
class ExperimentReport:
    """One experiment's report (the control first)."""

    experiment: str
    control: str
    arms: tuple[ArmReport, ...]
    mde: float
    alpha: float
    power: float
    unmatched_events: int = 0


@dataclass
class Tally:
    """Tally the log.

    Returns:
        (experiment -> arm -> counts, arms in first-seen order; the feedback events
        whose ``request_id`` no logged impression has).
    """

    arms: dict[str, dict[str, ArmTally]] = field(default_factory=dict)
    unmatched: int = 0


def tally(records: Iterable[Record]) -> Tally:
    """Join the feedback events to the impressions they name."""
    served: dict[str, tuple[str, str]] = {}
    kinds: dict[str, set[str]] = defaultdict(set)
    out = Tally()
    feedback: list[Record] = []
    for r in records:
        if r.get("type") == "impression" and isinstance(r.get("request_id"), str):
            experiment, arm = str(r.get("experiment")), str(r.get("arm"))
            served[r["request_id"]] = (experiment, arm)
            out.arms.setdefault(experiment, {}).setdefault(arm, ArmTally()).impressions += 1
        elif r.get("type") == "event":
            feedback.append(r)
    for e in feedback:
        where = served.get(str(e.get("request_id")))
        if where is None:
            out.unmatched += 1
            continue
        counts = out.arms[where[0]][where[1]]
        kind = str(e.get("kind"))
        counts.events[kind] += 1
        seen = kinds[str(e.get("request_id"))]
        if kind not in seen:
            seen.add(kind)
            counts.answers_with[kind] += 1
    return out


def _order(arms: Sequence[str], preferred: Sequence[str] | None) -> list[str]:
    if preferred:
        first = [a for a in preferred if a in arms]
        return first + [a for a in arms if a not in first]
    if CONTROL_NAME in arms:
        return [CONTROL_NAME, *(a for a in arms if a != CONTROL_NAME)]
    return list(arms)


def experiment_report(
    name: str,
    arms: Mapping[str, ArmTally],
    *,
    arm_order: Sequence[str] | None = None,
    mde: float = 0.01,
    alpha: float = 0.05,
    power: float = 0.8,
) -> ExperimentReport:
    """The report of one experiment's tallied arms (see the module docstring)."""
    order = _order(list(arms), arm_order)
    control = order[0]
    props = {
        (a, m): wilson(arms[a].answers_with[METRIC_KIND[m]], arms[a].impressions, 1 - alpha)
        for a in order
        for m in METRICS
    }
    needed = {m: sample_size(props[control, m].rate, mde, alpha, power) for m in METRICS}
    rows = []
    for a in order:
        metrics = {
            m: MetricRow(
                props[a, m],
                None if a == control else difference(props[control, m], props[a, m]),
                needed[m],
                max(0, needed[m] - arms[a].impressions),
            )
            for m in METRICS
        }
        t = arms[a]
        rows.append(ArmReport(a, t.impressions, t.events["click"], t.events["purchase"], metrics))
    return ExperimentReport(name, control, tuple(rows), mde, alpha, power)


def build_reports(
    records: Iterable[Record],
    *,
    experiment: str | None = None,
    arm_orders: Mapping[str, Sequence[str]] | None = None,
    mde: float = 0.01,
    alpha: float = 0.05,
    power: float = 0.8,
) -> list[ExperimentReport]:
    """The reports of every experiment in ``records`` (or only ``experiment``).

    Args:
        records: the event log's records.
        experiment: the experiment to report (None: every one in the log).
        arm_orders: experiment -> its arms in the experiments file's order (control first).
        mde: the minimum detectable effect, an absolute rate difference.
        alpha: the tests' level (the intervals are at 1 - alpha).
        power: the power the sample sizes aim at.

    Raises:
        NotFoundError: ``experiment`` has no impression in the log (the ones that do named).
    """
    tallied = tally(records)
    names = list(tallied.arms)
    if experiment is not None:
        if experiment not in tallied.arms:
            held = ", ".join(map(repr, names)) or "none"
            raise NotFoundError(
                f"experiment {experiment!r} has no impression in the event log; "
                f"experiments in it: {held}"
            )
        names = [experiment]
    return [
        replace(
            experiment_report(
                n,
                tallied.arms[n],
                arm_order=(arm_orders or {}).get(n),
                mde=mde,
                alpha=alpha,
                power=power,
            ),
            unmatched_events=tallied.unmatched,
        )
        for n in names
    ]
