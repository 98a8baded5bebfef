"""The experiments file (``KGREC_SERVING__EXPERIMENTS_FILE``): TOML read into frozen dataclasses.

Format (docs/experiments.md)::

    [[experiments]]
    name = "fresh-slots"        # letters, digits, '.', '_', '-'
    active = true               # optional; at most one experiment is active

    [[experiments.arms]]
    name = "control"            # the first arm is the control
    share = 0.5                 # traffic shares of an experiment sum to 1

    [[experiments.arms]]
    name = "more-fresh"
    share = 0.5
    fresh_share = 0.3           # optional overrides: ranker, w_query, w_link,
                                # fresh_share, fresh_temperature, generators,
                                # artifact_version

Every error names the file, the experiment, the arm, the key and the valid values.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import annotated_types

from kgrec.api.experiments.arms import Arm, Experiment, RankingOverrides
from kgrec.errors import ConfigError
from kgrec.settings import ServingSettings

_NAME: Final = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_NAME_RULE: Final = "1..64 letters, digits, '.', '_' or '-'"
_SHARE_TOLERANCE: Final = 1e-9
FILE_KEYS: Final = ("experiments",)
EXPERIMENT_KEYS: Final = ("name", "active", "arms")
OVERRIDE_KEYS: Final = (
    "ranker",
    "w_query",
    "w_link",
    "fresh_share",
    "fresh_temperature",
    "generators",
    "artifact_version",
)
ARM_KEYS: Final = ("name", "share", *OVERRIDE_KEYS)


@dataclass(frozen=True)
class ExperimentsConfig:
    """The experiments of one file (empty when no file is configured)."""

    experiments: tuple[Experiment, ...] = ()
    source: Path | None = None

    @property
    def active(self) -> Experiment | None:
        """The experiment requests are assigned to (None: none is active)."""
        return next((e for e in self.experiments if e.active), None)

    def get(self, name: str) -> Experiment | None:
        """The experiment called ``name`` (None: the file has none)."""
        return next((e for e in self.experiments if e.name == name), None)


def load_experiments(path: Path | None, *, ranker: bool) -> ExperimentsConfig:
    """The experiments of the file at ``path`` (none when it is None).

    Args:
        path: ``KGREC_SERVING__EXPERIMENTS_FILE``.
        ranker: ``KGREC_SERVING__RANKER``; when False, no arm may turn the ranker on.

    Raises:
        ConfigError: the file is missing, not TOML, or breaks a rule (named).
    """
    if path is None:
        return ExperimentsConfig()
    config = read_experiments(path)
    for experiment in config.experiments:
        for arm in experiment.arms:
            if arm.overrides.ranker and not ranker:
                raise ConfigError(
                    f"{path}: experiment {experiment.name!r}: arm {arm.name!r}: ranker = true "
                    "but KGREC_SERVING__RANKER=false loads no learned ranker; set "
                    "KGREC_SERVING__RANKER=true "
                    "(an arm may then turn it off with ranker = false)"
                )
    return config


def read_experiments(path: Path) -> ExperimentsConfig:
    """Read and check an experiments file.

    Raises:
        ConfigError: the file is missing, not TOML, or breaks a rule (named).
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(
            f"KGREC_SERVING__EXPERIMENTS_FILE={path}: cannot read it ({e.strerror or e})"
        ) from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not a valid TOML file: {e}") from e
    _known_keys(data, FILE_KEYS, f"{path}")
    tables = data.get("experiments", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"{path}: 'experiments' must be an array of tables ([[experiments]])")
    experiments = tuple(_experiment(t, path, i) for i, t in enumerate(tables))
    _unique([e.name for e in experiments], f"{path}: experiment")
    active = [e.name for e in experiments if e.active]
    if len(active) > 1:
        raise ConfigError(
            f"{path}: experiments {', '.join(map(repr, active))} are all active; at most one "
            "may be (a request is in one experiment): set active = false on the others"
        )
    return ExperimentsConfig(experiments, path)


def _known_keys(table: Mapping[str, Any], valid: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in valid:
            raise ConfigError(f"{where}: unknown key {key!r}; valid keys: {', '.join(valid)}")


def _unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ConfigError(f"{what} name {name!r} is used twice; names must be unique")
        seen.add(name)


def _name(table: Mapping[str, Any], where: str) -> str:
    name = table.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{where}: key 'name' must be {_NAME_RULE}, got {name!r}")
    return name


def _experiment(table: Mapping[str, Any], path: Path, index: int) -> Experiment:
    name = _name(table, f"{path}: experiments[{index}]")
    where = f"{path}: experiment {name!r}"
    _known_keys(table, EXPERIMENT_KEYS, where)
    active = table.get("active", True)
    if not isinstance(active, bool):
        raise ConfigError(f"{where}: key 'active' must be true or false, got {active!r}")
    arm_tables = table.get("arms", [])
    if not isinstance(arm_tables, list) or not all(isinstance(t, dict) for t in arm_tables):
        raise ConfigError(f"{where}: 'arms' must be an array of tables ([[experiments.arms]])")
    if len(arm_tables) < 2:
        raise ConfigError(
            f"{where}: has {len(arm_tables)} arm(s); an experiment needs at least two "
            "([[experiments.arms]] tables, the first is the control)"
        )
    arms = tuple(_arm(t, where, i) for i, t in enumerate(arm_tables))
    _unique([a.name for a in arms], f"{where}: arm")
    total = math.fsum(a.share for a in arms)
    if abs(total - 1.0) > _SHARE_TOLERANCE:
        shares = ", ".join(f"{a.name}={a.share:g}" for a in arms)
        raise ConfigError(
            f"{where}: the arms' shares sum to {total:g} ({shares}); they must sum to 1"
        )
    return Experiment(name, arms, active)


def _arm(table: Mapping[str, Any], experiment: str, index: int) -> Arm:
    name = _name(table, f"{experiment}: arms[{index}]")
    where = f"{experiment}: arm {name!r}"
    _known_keys(table, ARM_KEYS, where)
    share = _number(table, "share", where, 0.0, 1.0, required=True)
    assert share is not None
    ranker = table.get("ranker")
    if ranker is not None and not isinstance(ranker, bool):
        raise ConfigError(f"{where}: key 'ranker' must be true or false, got {ranker!r}")
    overrides = RankingOverrides(
        ranker=ranker,
        w_query=_number(table, "w_query", where, *_bounds("w_query")),
        w_link=_number(table, "w_link", where, *_bounds("w_link")),
        fresh_share=_number(table, "fresh_share", where, *_bounds("fresh_share")),
        fresh_temperature=_number(table, "fresh_temperature", where, *_bounds("fresh_temperature")),
        generators=_generators(table, where),
        artifact_version=_version(table, where),
    )
    return Arm(name, share, overrides)


def _version(table: Mapping[str, Any], where: str) -> str | None:
    value = table.get("artifact_version")
    if value is None:
        return None
    if not isinstance(value, str) or not _NAME.match(value):
        raise ConfigError(
            f"{where}: key 'artifact_version' must be the name of a version directory under "
            f"<data_dir>/artifacts ({_NAME_RULE}; `kgrec artifacts list`), got {value!r}"
        )
    return value


def pinned_versions(config: ExperimentsConfig, on_disk: Sequence[str], root: Path) -> list[str]:
    """The distinct artifact versions the active experiment's arms pin, in arm order.

    Args:
        config: the experiments file's content.
        on_disk: the versions under ``root`` (:meth:`kgrec.gnn.versions.VersionStore.versions`).
        root: ``<data_dir>/artifacts``, named in the error.

    Raises:
        ConfigError: an arm names a version that is not on disk (the file, experiment,
            arm and the versions on disk named).
    """
    experiment = config.active
    if experiment is None:
        return []
    pinned: list[str] = []
    for arm in experiment.arms:
        version = arm.overrides.artifact_version
        if version is None or version in pinned:
            continue
        if version not in on_disk:
            listed = ", ".join(on_disk) if on_disk else "none (run `kgrec embed`)"
            raise ConfigError(
                f"{config.source}: experiment {experiment.name!r}: arm {arm.name!r}: "
                f"artifact_version {version!r} is not under {root}; versions on disk: {listed}"
            )
        pinned.append(version)
    return pinned


def _bounds(setting: str) -> tuple[float, float]:
    """The bounds the serving setting of the same name has (one statement of each range)."""
    low, high = -math.inf, math.inf
    for rule in ServingSettings.model_fields[setting].metadata:
        if isinstance(rule, annotated_types.Ge):
            low = float(rule.ge)  # type: ignore[arg-type]
        elif isinstance(rule, annotated_types.Le):
            high = float(rule.le)  # type: ignore[arg-type]
    return low, high


def _number(
    table: Mapping[str, Any],
    key: str,
    where: str,
    low: float,
    high: float,
    *,
    required: bool = False,
) -> float | None:
    value = table.get(key)
    if value is None and not required:
        return None
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not isinstance(value, int | float) or not number or not low <= value <= high:
        raise ConfigError(
            f"{where}: key {key!r} must be a number in {low:g}..{high:g}, got {value!r}"
        )
    return float(value)


def _generators(table: Mapping[str, Any], where: str) -> tuple[str, ...] | None:
    value = table.get("generators")
    if value is None:
        return None
    from kgrec.gnn.ranking.fitting import SERVED_GENERATORS  # torch: only when an arm names some

    valid = ", ".join(SERVED_GENERATORS)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f"{where}: key 'generators' must be a non-empty list of generator names "
            f"({valid}), got {value!r}"
        )
    unknown = [v for v in value if v not in SERVED_GENERATORS]
    if unknown:
        raise ConfigError(
            f"{where}: key 'generators' names unknown generator(s) "
            f"{', '.join(map(repr, unknown))}; valid: {valid}"
        )
    _unique(list(value), f"{where}: generators: generator")
    return tuple(value)
