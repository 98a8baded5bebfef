"""The statistics of the A/B report.

Proportions with Wilson intervals, the difference of two proportions (Newcombe's
interval, two-proportion z-test) and the sample size a minimum detectable effect
needs. Normal quantiles come from the standard library
(:class:`statistics.NormalDist`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from kgrec.errors import ConfigError

_NORMAL = NormalDist()


def _z(two_sided: float) -> float:
    """The normal quantile leaving ``two_sided`` / 2 in each tail."""
    return _NORMAL.inv_cdf(1.0 - two_sided / 2.0)


@dataclass(frozen=True)
class Proportion:
    """``successes`` of ``trials`` with its Wilson score interval (NaN rate for none)."""

    successes: int
    trials: int
    rate: float
    low: float
    high: float


@dataclass(frozen=True)
class Difference:
    """Treatment rate minus control rate, its interval and the z-test's p-value."""

    diff: float
    low: float
    high: float
    p_value: float


def wilson(successes: int, trials: int, confidence: float = 0.95) -> Proportion:
    """The Wilson score interval of a binomial proportion; [0, 1] without trials.

    It is sound at rates near 0, where the normal-approximation interval is not.
    """
    if not 0 <= successes <= trials:
        raise ConfigError(f"successes must be in 0..trials, got {successes} of {trials}")
    if trials == 0:
        return Proportion(0, 0, math.nan, 0.0, 1.0)
    z = _z(1.0 - confidence)
    p = successes / trials
    denom = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return Proportion(successes, trials, p, low, high)


def difference(control: Proportion, treatment: Proportion) -> Difference:
    """Compare ``treatment`` with ``control``: their difference, its interval and p-value.

    Newcombe's hybrid score interval (from the two Wilson intervals, at their
    confidence) and the pooled two-proportion z-test's two-sided p-value (1 when
    neither or both always succeed; NaN without trials).
    """
    if control.trials == 0 or treatment.trials == 0:
        return Difference(math.nan, math.nan, math.nan, math.nan)
    p1, p2 = control.rate, treatment.rate
    diff = p2 - p1
    low = diff - math.hypot(p2 - treatment.low, control.high - p1)
    high = diff + math.hypot(treatment.high - p2, p1 - control.low)
    n1, n2 = control.trials, treatment.trials
    pooled = (control.successes + treatment.successes) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    p_value = 1.0 if se == 0 else 2.0 * (1.0 - _NORMAL.cdf(abs(diff) / se))
    return Difference(diff, low, high, p_value)


def sample_size(base_rate: float, mde: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Trials per arm a two-proportion z-test needs to detect a rise of ``mde``.

    The test is two-sided at ``alpha``; ``mde`` is absolute (0.01 = one percentage
    point) over ``base_rate``, detected with probability ``power``.

    Raises:
        ConfigError: ``mde``, ``alpha`` or ``power`` out of range (named).
    """
    if not 0 < mde < 1:
        raise ConfigError(f"mde={mde} must be an absolute rate difference in (0, 1), e.g. 0.01")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ConfigError(f"alpha={alpha} and power={power} must be in (0, 1)")
    p1 = min(max(0.0 if math.isnan(base_rate) else base_rate, 0.0), 1.0 - mde)
    p2 = p1 + mde
    mean = (p1 + p2) / 2
    need = (
        _z(alpha) * math.sqrt(2 * mean * (1 - mean))
        + _NORMAL.inv_cdf(power) * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    ) / mde
    return math.ceil(need * need)
