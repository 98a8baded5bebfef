"""How sure a ratio of two methods' mean metric is: a paired bootstrap over test users.

The report's ratio (the served ranking's Recall@20 over the best baseline's) is
a ratio of means over a few hundred test users, some views under a hundred. How
far it could move with other users is what :func:`ratio_interval` says: each
seed's test users are resampled with replacement, the *same* users for both
methods (paired: a user easy for one method is easy for the other, so the
interval is much narrower than two independent ones), and the ratio of the seeds'
mean metrics recomputed; the interval is the percentiles of those ratios (the
percentile bootstrap, as ``scipy.stats.bootstrap(..., paired=True,
method="percentile")`` computes it for one seed; SciPy's cannot resample
within seeds of different sizes, hence these few lines). It measures the spread
from which users were tested, not from refitting the models (the seeds'
standard deviation in the report shows that).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor

RESAMPLES = 2000
"""Bootstrap resamples per interval (percentiles stable to about 0.005 in the ratio)."""
LEVEL = 0.95
"""Coverage of the interval."""
CHUNK_DRAWS = 1 << 22
"""User indices drawn at once (32 MiB of them): a view of 100k test users takes
2,000 resamples in blocks of 41, not one 1.6 GB draw."""


class RatioInterval(NamedTuple):
    """A ratio of mean metrics and its bootstrap interval.

    Attributes:
        ratio: mean over seeds of ``ours``' user mean, over the same of ``theirs``.
        low: the interval's lower end.
        high: its upper end.
    """

    ratio: float
    low: float
    high: float


def ratio_interval(
    ours: Sequence[Tensor],
    theirs: Sequence[Tensor],
    *,
    resamples: int = RESAMPLES,
    level: float = LEVEL,
    seed: int = 0,
) -> RatioInterval:
    """Paired percentile-bootstrap interval of ``mean(ours) / mean(theirs)`` over users.

    Args:
        ours: one [U_s] per-user metric per seed s (NaN: a user without targets).
        theirs: the other method's, for the same users in the same order.
        resamples: bootstrap resamples.
        level: the interval's coverage, in (0, 1).
        seed: the resampling generator's seed (the same inputs give the same interval).

    Returns:
        The ratio of the seeds' mean metrics and its interval; a ratio over a
        zero mean is ``inf`` (``nan`` when both are zero).

    Raises:
        ValueError: no seed, seeds or users that do not pair up, NaN in one
            method where the other has a value, or ``level`` outside (0, 1).
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), not {level}")
    if not ours or len(ours) != len(theirs):
        raise ValueError(
            f"one per-user metric per seed for both methods: {len(ours)} and {len(theirs)} seeds"
        )
    generator = torch.Generator().manual_seed(seed)
    ours_means = torch.zeros(resamples + 1, dtype=torch.float64)
    theirs_means = torch.zeros(resamples + 1, dtype=torch.float64)
    for s, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        a, b = a.double().flatten(), b.double().flatten()
        if a.shape != b.shape:
            raise ValueError(f"seed {s}: {len(a)} users against {len(b)}; they must be the same")
        if not torch.equal(a.isnan(), b.isnan()):
            raise ValueError(f"seed {s}: the methods have targets for different users")
        keep = ~a.isnan()
        a, b = a[keep], b[keep]
        if len(a) == 0:
            raise ValueError(f"seed {s}: no user with targets")
        # row 0 is the sample itself, the others resample its users (paired), in
        # blocks of about CHUNK_DRAWS indices
        ours_means[0] += a.mean()
        theirs_means[0] += b.mean()
        block = max(1, CHUNK_DRAWS // len(a))
        for start in range(0, resamples, block):
            n = min(block, resamples - start)
            draw = torch.randint(len(a), (n, len(a)), generator=generator)
            ours_means[1 + start : 1 + start + n] += a[draw].mean(1)
            theirs_means[1 + start : 1 + start + n] += b[draw].mean(1)
    ratios = ours_means / theirs_means  # inf / nan where theirs is 0, as the ratio itself
    tail = (1.0 - level) / 2
    # the nearest resample, not an interpolation, so an infinite ratio stays a bound
    at = torch.tensor([tail, 1.0 - tail], dtype=torch.float64)
    bounds = torch.nanquantile(ratios[1:], at, interpolation="nearest")
    return RatioInterval(float(ratios[0]), float(bounds[0]), float(bounds[1]))
