"""The experiments file: parsed into frozen dataclasses, every mistake named."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from kgrec.api.experiments.arms import RankingOverrides
from kgrec.api.experiments.config import load_experiments, pinned_versions, read_experiments
from kgrec.errors import ConfigError, NotFoundError

GOOD = """
[[experiments]]
name = "fresh-slots"

[[experiments.arms]]
name = "control"
share = 0.5

[[experiments.arms]]
name = "more-fresh"
share = 0.25
fresh_share = 0.3
fresh_temperature = 1.5
w_query = 4
w_link = 0
generators = ["gnn", "item_knn"]

[[experiments.arms]]
name = "fused"
share = 0.25
ranker = false

[[experiments]]
name = "old"
active = false

[[experiments.arms]]
name = "a"
share = 0.5

[[experiments.arms]]
name = "b"
share = 0.5
"""

ARM = '[[experiments]]\nname = "e"\n[[experiments.arms]]\nname = "control"\nshare = 0.5\n'


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "experiments.toml"
    path.write_text(text)
    return path


def test_a_good_file(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    config = read_experiments(path)
    assert config.active is not None and config.active.name == "fresh-slots"
    assert [a.name for a in config.active.arms] == ["control", "more-fresh", "fused"]
    assert config.active.control.name == "control"
    assert config.active.arm("more-fresh").overrides == RankingOverrides(
        w_query=4.0,
        w_link=0.0,
        fresh_share=0.3,
        fresh_temperature=1.5,
        generators=("gnn", "item_knn"),
    )
    assert config.active.arm("fused").overrides == RankingOverrides(ranker=False)
    assert config.active.arm("control").overrides == RankingOverrides()
    old = config.get("old")
    assert old is not None and not old.active
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.active.name = "x"  # type: ignore[misc]
    with pytest.raises(NotFoundError, match="'control', 'more-fresh', 'fused'"):
        config.active.arm("nope")


def test_no_file_no_experiments(tmp_path: Path) -> None:
    config = load_experiments(None, ranker=True)
    assert config.experiments == () and config.active is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            ARM + '[[experiments.arms]]\nname = "b"\nshare = 0.5\nfresh_shre = 0.1\n',
            ["experiment 'e'", "arm 'b'", "unknown key 'fresh_shre'", "fresh_share", "ranker"],
        ),
        (
            ARM + '[[experiments.arms]]\nname = "b"\nshare = 0.4\n',
            ["experiment 'e'", "sum to 0.9", "control=0.5", "b=0.4", "must sum to 1"],
        ),
        (
            ARM + '[[experiments.arms]]\nname = "b"\nshare = 0.5\nfresh_share = 0.7\n',
            ["arm 'b'", "'fresh_share'", "0..0.5", "0.7"],
        ),
        (
            ARM + '[[experiments.arms]]\nname = "b"\nshare = 0.5\nfresh_temperature = -1\n',
            ["arm 'b'", "'fresh_temperature'", "0..10", "-1"],
        ),
        (
            ARM + '[[experiments.arms]]\nname = "b"\nshare = 0.5\nw_query = "high"\n',
            ["arm 'b'", "'w_query'", "0..100", "'high'"],
        ),
        (
            ARM + '[[experiments.arms]]\nname = "b"\nshare = 0.5\ngenerators = ["gnn", "bm25"]\n',
            ["arm 'b'", "'generators'", "'bm25'", "gnn, popularity, peer_popularity, text_knn"],
        ),
        (
            ARM + '[[experiments.arms]]\nname = "b"\nshare = 0.5\ngenerators = []\n',
            ["arm 'b'", "non-empty list"],
        ),
        (
            ARM + '[[experiments.arms]]\nname = "b"\nshare = 0.5\nartifact_version = 2\n',
            ["arm 'b'", "'artifact_version' must be the name of a version directory", "got 2"],
        ),
        (
            ARM + '[[experiments.arms]]\nname = "b"\nshare = 0.5\nranker = "no"\n',
            ["arm 'b'", "'ranker' must be true or false"],
        ),
        (ARM, ["experiment 'e'", "1 arm(s)", "at least two"]),
        (
            ARM + '[[experiments.arms]]\nname = "control"\nshare = 0.5\n',
            ["arm name 'control' is used twice"],
        ),
        (
            ARM + '[[experiments.arms]]\nname = "b c"\nshare = 0.5\n',
            ["arms[1]", "'name' must be 1..64 letters", "'b c'"],
        ),
        (
            ARM
            + '[[experiments.arms]]\nname = "b"\nshare = 0.5\n'
            + ARM.replace('"e"', '"f"')
            + '[[experiments.arms]]\nname = "b"\nshare = 0.5\n',
            ["'e', 'f' are all active", "active = false"],
        ),
        ('[[experiment]]\nname = "e"\n', ["unknown key 'experiment'", "valid keys: experiments"]),
        ("[[experiments]\n", ["not a valid TOML file"]),
    ],
)
def test_mistakes_are_named(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        read_experiments(path)
    message = str(e.value)
    assert str(path) in message
    for part in expected:
        assert part in message, (part, message)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(
        ConfigError, match=r"KGREC_SERVING__EXPERIMENTS_FILE=.*nope\.toml: cannot read"
    ):
        load_experiments(missing, ranker=True)


def test_an_arm_cannot_turn_on_a_ranker_the_settings_turned_off(tmp_path: Path) -> None:
    path = _write(tmp_path, ARM + '[[experiments.arms]]\nname = "b"\nshare = 0.5\nranker = true\n')
    assert load_experiments(path, ranker=True).active is not None
    with pytest.raises(ConfigError, match="arm 'b': ranker = true but KGREC_SERVING__RANKER=false"):
        load_experiments(path, ranker=False)


PINNED = """
[[experiments]]
name = "versions"

[[experiments.arms]]
name = "control"
share = 0.4

[[experiments.arms]]
name = "old"
share = 0.3
artifact_version = "v-1"

[[experiments.arms]]
name = "old-fused"
share = 0.3
artifact_version = "v-1"
ranker = false

[[experiments]]
name = "gone"
active = false

[[experiments.arms]]
name = "a"
share = 0.5
artifact_version = "pruned"

[[experiments.arms]]
name = "b"
share = 0.5
"""


def test_arms_pin_artifact_versions_that_must_be_on_disk(tmp_path: Path) -> None:
    path = _write(tmp_path, PINNED)
    config = read_experiments(path)
    assert config.active is not None
    old = config.active.arm("old-fused").overrides
    assert old == RankingOverrides(ranker=False, artifact_version="v-1")
    root = tmp_path / "artifacts"
    # one engine per distinct version of the active experiment; the inactive one is not checked
    assert pinned_versions(config, ["v-0", "v-1"], root) == ["v-1"]
    with pytest.raises(ConfigError) as e:
        pinned_versions(config, ["v-0", "v-2"], root)
    message = str(e.value)
    for part in (str(path), "experiment 'versions'", "arm 'old'", "'v-1'", str(root), "v-0, v-2"):
        assert part in message, (part, message)
    with pytest.raises(ConfigError, match="versions on disk: none"):
        pinned_versions(config, [], root)
