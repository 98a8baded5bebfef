"""Assignment: deterministic per (experiment, id), in the configured shares."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from kgrec.api.experiments.arms import Arm, Experiment, RankingOverrides
from kgrec.api.experiments.assignment import arm_of, assign, bucket

THREE = Experiment(
    "three",
    (
        Arm("control", 0.2),
        Arm("b", 0.3, RankingOverrides(fresh_share=0.0)),
        Arm("c", 0.5, RankingOverrides(ranker=False)),
    ),
)


@given(st.text(min_size=1, max_size=64), st.text(min_size=1, max_size=256))
def test_a_bucket_is_in_0_1_and_the_same_every_time(experiment: str, unit: str) -> None:
    b = bucket(experiment, unit)
    assert 0.0 <= b < 1.0
    assert bucket(experiment, unit) == b
    assert arm_of(THREE, unit) == arm_of(THREE, unit)


def test_the_shares_are_kept() -> None:
    n = 20_000
    counts = Counter(arm_of(THREE, f"user-{i}").name for i in range(n))
    for arm in THREE.arms:
        # binomial sd at n=20000 is at most 0.0036: 0.015 is over 4 sd
        assert abs(counts[arm.name] / n - arm.share) < 0.015, counts


def test_experiments_hash_the_same_shopper_independently() -> None:
    other = Experiment("other", (Arm("x", 0.5), Arm("y", 0.5)))
    half = Experiment("three", (Arm("x", 0.5), Arm("y", 0.5)))
    users = [f"user-{i}" for i in range(10_000)]
    both = sum(arm_of(half, u).name == "x" and arm_of(other, u).name == "x" for u in users)
    assert abs(both / len(users) - 0.25) < 0.02


def test_a_zero_share_arm_gets_nobody() -> None:
    exp = Experiment("z", (Arm("control", 1.0), Arm("off", 0.0)))
    assert {arm_of(exp, f"s{i}").name for i in range(2000)} == {"control"}


def test_assign_by_user_then_session() -> None:
    by_user = assign(THREE, "alice", "session-1")
    assert by_user is not None and by_user.unit == "user"
    assert by_user.arm == arm_of(THREE, "alice").name
    assert by_user.overrides == THREE.arm(by_user.arm).overrides
    by_session = assign(THREE, None, "session-1")
    assert by_session is not None and by_session.unit == "session"
    assert by_session.arm == arm_of(THREE, "session-1").name
    assert assign(THREE, None, None) is None
    assert assign(None, "alice", None) is None
