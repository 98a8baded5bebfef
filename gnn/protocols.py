"""Evaluation protocols: which :class:`~kgrec.gnn.splits.SplitPlan` ``kgrec evaluate`` scores.

Every protocol returns the same :class:`~kgrec.gnn.splits.SplitPlan` (``train``, ``val``,
``views``), so every method -- the GNN, the baselines, the staged ranking that
trains its ranker on ``plan.val`` -- runs unchanged, and
:func:`~kgrec.gnn.splits.assert_no_leakage` holds for each of them.

* ``kgrec`` (:func:`~kgrec.gnn.splits.build_splits`): warm temporal holdout per user,
  cold-item and cold-user@0/1/3 views; what kgrec is built for.
* ``random`` (:func:`random_split`): per user, a seeded random 80/10/10 split of
  its interactions into train / validation / test; one view, ``random``. The
  protocol most published MovieLens-100K numbers use.
* ``replay`` (:func:`replay_split`): one global time cut; the earliest 80 % of
  the interactions train, the next 10 % validate, the last 10 % are the test
  pairs of one view, ``replay``. Users and products first seen after the cut
  have no training interaction, as in production.

Interactions are deduplicated per (user, product) first, keeping the latest
timestamp, as :func:`~kgrec.gnn.splits.build_splits` does, so no pair is in two parts.
In every view the ranking covers all products, minus the user's history (its
training and validation pairs, :meth:`~kgrec.gnn.splits.SplitPlan.history`).
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
from torch import Tensor

from kgrec.errors import ConfigError, ModelError, invalid_choice
from kgrec.gnn.splits import (
    Interactions,
    SplitPlan,
    SplitView,
    assert_no_leakage,
    build_splits,
    per_user_rank,
)

Protocol = Literal["kgrec", "random", "replay"]
PROTOCOLS: tuple[Protocol, ...] = get_args(Protocol)
"""The valid protocol names, in the order ``--help`` lists them."""

DESCRIPTIONS: dict[str, str] = {
    "kgrec": "warm temporal holdout per user, cold-item and cold-user@0/1/3 views",
    "random": "per user, a seeded random 80/10/10 train / validation / test split",
    "replay": "one global time cut: earliest 80 % train, next 10 % validation, last 10 % test",
}
"""One line per protocol, for the report."""

_MIN_INTERACTIONS = 10


def build_plan(inter: Interactions, protocol: str, seed: int) -> SplitPlan:
    """The split plan of ``protocol`` over ``inter`` (deterministic in ``seed``).

    Raises:
        ConfigError: ``protocol`` is not one of :data:`PROTOCOLS` (the message lists them).
        ModelError: too few interactions to hold anything out.
    """
    if protocol == "kgrec":
        return build_splits(inter, seed=seed)
    if protocol == "random":
        return random_split(inter, seed=seed)
    if protocol == "replay":
        return replay_split(inter, seed=seed)
    raise invalid_choice("protocol", protocol, PROTOCOLS)


def _check_fractions(test_fraction: float, val_fraction: float) -> None:
    if not 0 < test_fraction < 1 or not 0 <= val_fraction < 1:
        raise ConfigError(
            f"test_fraction={test_fraction} must be in (0, 1) and "
            f"val_fraction={val_fraction} in [0, 1)"
        )
    if test_fraction + val_fraction >= 1:
        raise ConfigError(
            f"test_fraction + val_fraction = {test_fraction + val_fraction} leaves no "
            "interaction to train on; keep the sum below 1"
        )


def _deduplicated(inter: Interactions) -> Interactions:
    inter = inter.dedup()
    if len(inter.users) < _MIN_INTERACTIONS:
        raise ModelError(
            f"{len(inter.users)} distinct interactions are too few to evaluate; "
            "import a dataset first (`kgrec import --dataset ml-100k`)"
        )
    return inter


def _unseen(test: Tensor, train: Tensor, val: Tensor, side: int) -> Tensor:
    """[C] sorted ids on ``side`` (0 users, 1 products) of test pairs in no train/val pair."""
    ids = torch.unique(test[side])
    known = torch.cat([train[side], val[side]])
    out: Tensor = ids[~torch.isin(ids, known)]
    return out


def _plan(
    inter: Interactions,
    train: Tensor,
    val: Tensor,
    view: SplitView,
    seed: int,
    known: Tensor | None = None,
) -> SplitPlan:
    """Build a one-view plan (``known``: :attr:`SplitPlan.known`).

    ``cold_items`` / ``cold_users`` are the test pairs' products / users without
    any training or validation pair.
    """
    plan = SplitPlan(
        train=train,
        val=val,
        views={view.name: view},
        cold_items=_unseen(view.test, train, val, 1),
        cold_users=_unseen(view.test, train, val, 0),
        num_users=inter.num_users,
        num_items=inter.num_items,
        seed=seed,
        known=known,
    )
    assert_no_leakage(plan)
    return plan


def _share(n: Tensor, fraction: float) -> Tensor:
    """round(n * fraction) (halves up), at least 1 where ``fraction`` > 0."""
    if fraction <= 0:
        return torch.zeros_like(n)
    return torch.clamp(torch.floor(n.double() * fraction + 0.5).long(), min=1)


def random_split(
    inter: Interactions,
    *,
    seed: int,
    test_fraction: float = 0.1,
    val_fraction: float = 0.1,
    min_interactions: int = 3,
) -> SplitPlan:
    """Per user, a seeded random train / validation / test split of its interactions.

    A user with ``n >= min_interactions`` distinct interactions gets
    round(``test_fraction`` n) test and round(``val_fraction`` n) validation pairs
    (at least one of each where the user has enough, always at least one left to
    train on), drawn uniformly at random; a user with fewer keeps them all in
    training. One view, ``random``, with the test pairs, ranked over all products.

    Raises:
        ConfigError: fractions outside (0, 1) / [0, 1), or summing to 1 or more.
        ModelError: too few interactions to hold anything out.
    """
    _check_fractions(test_fraction, val_fraction)
    inter = _deduplicated(inter)
    gen = torch.Generator().manual_seed(seed)
    draw = torch.randperm(len(inter.users), generator=gen)
    # rank within user by a random key: the first n_test are test, the next n_val val
    _, rank, counts = per_user_rank(inter.users, draw, inter.num_users)
    n = counts[inter.users]
    split = n >= min_interactions
    # at least one pair of every split user stays in training
    n_test = torch.where(split, torch.minimum(_share(n, test_fraction), n - 1), 0)
    n_val = torch.where(split, torch.minimum(_share(n, val_fraction), n - 1 - n_test), 0)
    is_test = rank < n_test
    is_val = ~is_test & (rank < n_test + n_val)
    pairs = torch.stack([inter.users, inter.items])
    empty = pairs[:, :0]
    view = SplitView("random", empty, pairs[:, is_test])
    # a user's validation pairs are drawn from all of its history: the history
    # read at test time keeps the deduplicated pairs' timestamp order
    train, val, known = pairs[:, ~is_test & ~is_val], pairs[:, is_val], pairs[:, ~is_test]
    return _plan(inter, train, val, view, seed, known)


def replay_split(
    inter: Interactions,
    *,
    seed: int = 0,
    test_fraction: float = 0.1,
    val_fraction: float = 0.1,
) -> SplitPlan:
    """One global time cut: train, validation and test in timestamp order.

    All distinct interactions sorted by timestamp (ties in a fixed order): the
    earliest ``1 - val_fraction - test_fraction`` train, the next ``val_fraction``
    validate (always before the test cut), the last ``test_fraction`` are the test
    pairs of the one view, ``replay``. Every train timestamp <= every validation
    timestamp <= every test timestamp. A user first seen after the train cut is
    tested with an empty history; a product first seen after it has no training
    interaction (fresh), as in production. ``seed`` does not change the split (it
    is recorded in the plan; the methods' own seeds still vary).

    Raises:
        ConfigError: fractions outside (0, 1) / [0, 1), or summing to 1 or more.
        ModelError: too few interactions to hold anything out.
    """
    _check_fractions(test_fraction, val_fraction)
    inter = _deduplicated(inter)
    total = len(inter.users)
    n_test = max(1, round(total * test_fraction))
    n_val = round(total * val_fraction) if val_fraction > 0 else 0
    n_val = min(n_val, total - n_test - 1)
    n_train = total - n_test - n_val
    order = torch.argsort(inter.ts, stable=True)
    pairs = torch.stack([inter.users, inter.items])[:, order]
    train = pairs[:, :n_train]
    val = pairs[:, n_train : n_train + n_val]
    view = SplitView("replay", pairs[:, :0], pairs[:, n_train + n_val :])
    return _plan(inter, train, val, view, seed)
