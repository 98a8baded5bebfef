"""The paired bootstrap interval of a ratio of mean metrics (kgrec.gnn.significance)."""

from __future__ import annotations

import pytest
import torch
from scipy.stats import bootstrap

from kgrec.gnn.significance import ratio_interval


def _recalls(n: int, seed: int) -> torch.Tensor:
    """[n] Recall-like figures: most users 0, the others spread over (0, 1]."""
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, generator=g) < 0.3).double() * torch.rand(n, generator=g)


def test_one_seed_matches_scipys_paired_percentile_bootstrap() -> None:
    theirs = _recalls(400, 0)
    ours = theirs * 1.1 + 0.02 * _recalls(400, 1)
    got = ratio_interval([ours], [theirs])
    ref = bootstrap(
        (ours.numpy(), theirs.numpy()),
        lambda a, b, axis=-1: a.mean(axis) / b.mean(axis),
        paired=True,
        vectorized=True,
        method="percentile",
        n_resamples=2000,
        random_state=0,
    ).confidence_interval
    assert got.ratio == pytest.approx(float(ours.mean() / theirs.mean()))
    assert got.low == pytest.approx(ref.low, abs=0.01)
    assert got.high == pytest.approx(ref.high, abs=0.01)


def test_pairing_makes_a_steady_gain_certain() -> None:
    # every user gains 5 %: paired, the interval is tight around 1.05; two
    # independent resamples of such spread-out figures would straddle 1
    theirs = [_recalls(300, s) for s in range(3)]
    ours = [t * 1.05 for t in theirs]
    got = ratio_interval(ours, theirs)
    assert got.ratio == pytest.approx(1.05)
    assert 1.04 < got.low <= got.ratio <= got.high < 1.06


def test_noise_between_methods_widens_the_interval_and_seeds_pool() -> None:
    theirs = [_recalls(100, s) for s in range(3)]
    ours = [_recalls(100, s + 10) for s in range(3)]  # unrelated users' figures
    one = ratio_interval(ours[:1], theirs[:1])
    three = ratio_interval(ours, theirs)
    assert one.low < one.ratio < one.high
    assert one.high - one.low > 0.3  # 100 users cannot tell two such methods apart
    assert three.high - three.low < one.high - one.low  # three seeds' users narrow it
    mean = sum(float(o.mean()) for o in ours) / sum(float(t.mean()) for t in theirs)
    assert three.ratio == pytest.approx(mean)


def test_users_without_targets_are_left_out_and_the_result_repeats() -> None:
    theirs = torch.tensor([0.5, float("nan"), 0.25, 0.5])
    ours = torch.tensor([1.0, float("nan"), 0.25, 0.25])
    got = ratio_interval([ours], [theirs], resamples=500, seed=3)
    assert got.ratio == pytest.approx(1.5 / 1.25)
    assert 0.5 <= got.low < got.ratio < got.high <= 2.0  # the ratios three users allow
    assert got == ratio_interval([ours], [theirs], resamples=500, seed=3)


@pytest.mark.parametrize(
    ("ours", "theirs", "level", "message"),
    [
        ([], [], 0.95, "one per-user metric per seed"),
        ([torch.ones(3)], [torch.ones(3)] * 2, 0.95, "1 and 2 seeds"),
        ([torch.ones(3)], [torch.ones(4)], 0.95, "3 users against 4"),
        ([torch.tensor([1.0, float("nan")])], [torch.ones(2)], 0.95, "different users"),
        ([torch.tensor([float("nan")])], [torch.tensor([float("nan")])], 0.95, "no user"),
        ([torch.ones(3)], [torch.ones(3)], 1.0, "level must lie in (0, 1)"),
    ],
)
def test_inputs_that_do_not_pair_up_are_refused(
    ours: list[torch.Tensor], theirs: list[torch.Tensor], level: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ratio_interval(ours, theirs, level=level)
