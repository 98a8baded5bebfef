"""Deterministic assignment: hash (experiment, id) -> bucket in [0, 1) -> arm.

The same shopper (or session) always lands in the same arm of an experiment, in
every process and after every restart: nothing is stored. Different experiments
hash the same id independently, so their arms are not correlated.
"""

from __future__ import annotations

import hashlib
from typing import Final

from kgrec.api.experiments.arms import Arm, Assignment, Experiment

_SEPARATOR: Final = "\x1f"  # a character no id holds (ids refuse control characters)
_BUCKET_BYTES: Final = 8


def bucket(experiment: str, unit_id: str) -> float:
    """The bucket of ``unit_id`` in ``experiment``, uniform in [0, 1) over ids.

    It is the first 64 bits of SHA-256 of the pair.
    """
    data = f"{experiment}{_SEPARATOR}{unit_id}".encode()
    digest = hashlib.sha256(data).digest()[:_BUCKET_BYTES]
    return int.from_bytes(digest, "big") / float(1 << (8 * _BUCKET_BYTES))


def arm_of(experiment: Experiment, unit_id: str) -> Arm:
    """The arm whose cumulative share interval holds ``unit_id``'s bucket."""
    b = bucket(experiment.name, unit_id)
    upper = 0.0
    for arm in experiment.arms:
        upper += arm.share
        if b < upper:
            return arm
    return experiment.arms[-1]  # shares summing to 1 - 1e-12: the last interval's end


def assign(
    experiment: Experiment | None, user_id: str | None, session_id: str | None
) -> Assignment | None:
    """The arm of a request, by its user id, else by its session id.

    None when there is no active experiment or the request names neither (it is
    served as configured).
    """
    if experiment is None:
        return None
    if user_id is not None:
        unit, unit_id = "user", user_id
    elif session_id is not None:
        unit, unit_id = "session", session_id
    else:
        return None
    arm = arm_of(experiment, unit_id)
    return Assignment(experiment.name, arm.name, unit, arm.overrides)
