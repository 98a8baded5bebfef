"""Pick a baseline's main hyper-parameters by Recall@20 on the validation pairs.

Every tuned baseline calls :func:`tune` from its ``fit`` when validation pairs
are given: one fit per grid point on the training pairs, each scored by
Recall@20 on the validation pairs with full ranking over all products (the
training pairs are the history, read and excluded, as the evaluation's history
is), and the best fit is kept (the first grid point wins ties).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar, runtime_checkable

import torch
from torch import Tensor

from kgrec.gnn.baselines.base import Recommender, history_matrix
from kgrec.gnn.metrics import mean_metrics, rank_metrics

Params = dict[str, object]
R = TypeVar("R", bound=Recommender)

TUNING_METRIC = "recall@20"
NEIGHBOUR_GRID: tuple[Params, ...] = tuple(
    {"neighbours": k} for k in (10, 20, 50, 100, 200, 400, 800)
)
"""Neighbour counts tried by both item-kNN baselines (1,682 items on MovieLens-100K)."""


@runtime_checkable
class Tunable(Protocol):
    """A recommender that records the hyper-parameters it ended up with.

    Attributes:
        chosen: hyper-parameter -> value used by the last ``fit``.
        validation: (grid point, validation Recall@20) per grid point of the last
            ``fit``; empty when it was not tuned (no validation pairs).
    """

    chosen: Params
    validation: list[tuple[Params, float]]


@dataclass
class Tuned(Generic[R]):
    """The outcome of :func:`tune`.

    Attributes:
        best: the fitted model of the best grid point.
        params: that grid point.
        score: its validation Recall@20.
        scores: (grid point, validation Recall@20) in grid order.
    """

    best: R
    params: Params
    score: float
    scores: list[tuple[Params, float]] = field(default_factory=list)


def validation_recall(model: Recommender, train: Tensor, val: Tensor, num_items: int) -> float:
    """Mean Recall@20 of a fitted ``model`` on ``val`` [2, E_val].

    The validation users' history is ``train`` [2, E]; it is excluded from the
    ranking over all ``num_items`` products.
    """
    users = torch.unique(val[0])
    scores = model.scores(users, train)  # [B, P]
    target = history_matrix(val, users, num_items).bool()
    seen = history_matrix(train, users, num_items).bool()
    per_user = rank_metrics(scores, target, seen, ks=(20,))
    return mean_metrics(per_user)[TUNING_METRIC]


def tune(
    make: Callable[[Params], R],
    grid: Sequence[Mapping[str, object]],
    train: Tensor,
    num_users: int,
    num_items: int,
    val: Tensor,
) -> Tuned[R]:
    """Fit ``make(point)`` for every grid point; keep the best by validation Recall@20.

    Args:
        make: grid point -> an unfitted model with those hyper-parameters (it must
            not tune itself again).
        grid: the hyper-parameter combinations to try (at least one).
        train: [2, E] training pairs.
        num_users: U.
        num_items: P.
        val: [2, E_val] validation pairs, none of them in ``train``.

    Raises:
        ValueError: empty grid.
    """
    if not grid:
        raise ValueError("tune needs at least one grid point")
    best: Tuned[R] | None = None
    scores: list[tuple[Params, float]] = []
    for point in grid:
        params = dict(point)
        model = make(params)
        model.fit(train, num_users, num_items, val)
        score = validation_recall(model, train, val, num_items)
        scores.append((params, score))
        if best is None or score > best.score:
            best = Tuned(model, params, score)
    assert best is not None
    best.scores = scores
    return best


def grid_of(**axes: Sequence[object]) -> list[Params]:
    """Every combination of the given axes, e.g. ``grid_of(k=(1, 2), r=(0.1,))``."""
    points: list[Params] = [{}]
    for name, values in axes.items():
        points = [{**p, name: v} for p in points for v in values]
    return points


def as_int(value: object) -> int:
    """A grid value that must be an int."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an int hyper-parameter, got {value!r}")
    return value


def as_float(value: object) -> float:
    """A grid value that must be a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a numeric hyper-parameter, got {value!r}")
    return float(value)
