"""The A/B statistics and report.

Known values, a truly better arm found, and two identical arms found different at
the 5 % level in at most 10 % of 50 runs.
"""

from __future__ import annotations

import math

import pytest

from kgrec.api.experiments.report import build_reports, tally
from kgrec.api.experiments.stats import difference, sample_size, wilson
from kgrec.errors import ConfigError, NotFoundError
from tests.utils.experiments import simulated_log


def test_wilson_intervals_match_the_published_values() -> None:
    # Newcombe (1998), Statistics in Medicine 17, table I
    assert wilson(81, 263).low == pytest.approx(0.2553, abs=1e-4)
    assert wilson(81, 263).high == pytest.approx(0.3662, abs=1e-4)
    assert (wilson(0, 10).low, round(wilson(0, 10).high, 4)) == (0.0, 0.2775)
    assert wilson(10, 10).high == 1.0
    empty = wilson(0, 0)
    assert math.isnan(empty.rate) and (empty.low, empty.high) == (0.0, 1.0)
    with pytest.raises(ConfigError):
        wilson(3, 2)


def test_the_difference_matches_newcombes_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17, 873-890: 56/70 - 48/80, method 10
    d = difference(wilson(48, 80), wilson(56, 70))
    assert d.diff == pytest.approx(0.2)
    assert d.low == pytest.approx(0.0524, abs=1e-4)
    assert d.high == pytest.approx(0.3339, abs=1e-4)
    assert d.p_value == pytest.approx(0.00805, abs=1e-4)  # pooled z = 2.65
    same = difference(wilson(0, 50), wilson(0, 60))
    assert same.diff == 0.0 and same.p_value == 1.0


def test_sample_sizes_match_the_textbook() -> None:
    assert sample_size(0.10, 0.01) == 14751  # 10 % -> 11 %, alpha 0.05, power 0.8
    assert sample_size(0.50, 0.10) == 388
    assert sample_size(0.10, 0.01, power=0.9) > sample_size(0.10, 0.01)
    with pytest.raises(ConfigError, match="mde=0"):
        sample_size(0.1, 0.0)


def test_clicks_count_once_per_answer_and_stray_events_are_counted_apart() -> None:
    records = [
        {"type": "impression", "request_id": "r1", "experiment": "e", "arm": "control"},
        {"type": "impression", "request_id": "r2", "experiment": "e", "arm": "control"},
        {"type": "event", "request_id": "r1", "kind": "click"},
        {"type": "event", "request_id": "r1", "kind": "click"},
        {"type": "event", "request_id": "r1", "kind": "purchase"},
        {"type": "event", "request_id": "nowhere", "kind": "click"},
    ]
    t = tally(records)
    arm = t.arms["e"]["control"]
    assert arm.impressions == 2 and arm.events["click"] == 2
    assert arm.answers_with["click"] == 1 and arm.answers_with["purchase"] == 1
    assert t.unmatched == 1


def test_a_truly_better_arm_is_found() -> None:
    log = simulated_log({"a": (0.10, 0.040), "b": (0.10, 0.060)}, 6000, seed=7)
    (report,) = build_reports(log, arm_orders={"exp": ["a", "b"]}, mde=0.01)
    assert report.control == "a"
    a, b = report.arms
    conv = b.metrics["conversion"]
    assert conv.vs_control is not None
    assert conv.vs_control.p_value < 0.05
    assert 0 < conv.vs_control.low < 0.02 < conv.vs_control.high
    ctr = b.metrics["ctr"].vs_control
    assert ctr is not None and ctr.low < 0 < ctr.high  # the CTRs are truly equal
    assert a.metrics["conversion"].proportion.low < 0.04 < a.metrics["conversion"].proportion.high
    assert a.metrics["conversion"].vs_control is None
    needed = sample_size(a.metrics["conversion"].proportion.rate, 0.01)
    assert b.metrics["conversion"].needed == needed
    assert b.metrics["conversion"].still_needed == max(0, needed - 6000)


def test_identical_arms_differ_at_5_percent_in_at_most_10_percent_of_runs() -> None:
    significant = 0
    for seed in range(50):
        log = simulated_log({"control": (0.1, 0.05), "same": (0.1, 0.05)}, 2000, seed=seed)
        (report,) = build_reports(log)
        d = report.arms[1].metrics["conversion"].vs_control
        assert d is not None
        significant += d.p_value < 0.05
    assert significant <= 5, f"{significant} of 50 A/A runs found a difference"


def test_the_control_is_the_files_first_arm_else_control() -> None:
    log = simulated_log({"b": (0.1, 0.05), "control": (0.1, 0.05)}, 50, seed=1)
    assert build_reports(log)[0].control == "control"
    assert build_reports(log, arm_orders={"exp": ["b", "control"]})[0].control == "b"
    with pytest.raises(NotFoundError, match="experiments in it: 'exp'"):
        build_reports(log, experiment="other")
