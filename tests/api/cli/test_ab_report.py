"""``kgrec ab-report``: the table and chart of a simulated experiment's log."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from typer.testing import CliRunner, Result

from kgrec.api.cli import app
from kgrec.api.experiments.log import EventLog
from kgrec.errors import ConfigError, NotFoundError
from tests.utils.experiments import simulated_log

WIDE = {"COLUMNS": "200"}


def _invoke(data_dir: Path, *args: str, **env: str) -> Result:
    return CliRunner().invoke(
        app, ["ab-report", *args], env={"KGREC_DATA_DIR": str(data_dir), **WIDE, **env}
    )


def _logged(data_dir: Path, seed: int = 3) -> None:
    log = simulated_log({"control": (0.10, 0.03), "better": (0.10, 0.05)}, 4000, seed=seed)
    log += simulated_log({"a": (0.2, 0.1), "b": (0.2, 0.1)}, 100, seed=seed, experiment="other")
    EventLog.in_data_dir(data_dir).append(log)


def test_the_report_names_the_better_arm_and_draws_it(tmp_path: Path) -> None:
    _logged(tmp_path)
    png = tmp_path / "out" / "exp.png"
    result = _invoke(tmp_path, "--experiment", "exp", "--mde", "0.02", "--png", str(png))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "experiment exp (control: control; MDE 2 percentage point(s), alpha 0.05" in out
    conversion = out.split("conversion: answers with a purchase / answers")[1].splitlines()
    better = next(line.split() for line in conversion if line.startswith("better"))
    assert better[1] == "4000"  # answers
    assert better[7] == "<0.0001" or float(better[7]) < 0.05  # p-value
    assert float(better[5]) > 0  # the difference, in points
    assert "answers still needed: per arm, to detect a rise of 2 percentage point(s)" in out
    assert "other" not in out
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size[0] > 300


def test_every_experiment_without_a_name_and_one_chart_at_most(tmp_path: Path) -> None:
    _logged(tmp_path)
    result = _invoke(tmp_path)
    assert result.exit_code == 0, result.output
    assert "experiment exp (control: control" in result.output
    assert "experiment other (control: a" in result.output
    both = _invoke(tmp_path, "--png", str(tmp_path / "x.png"))
    assert isinstance(both.exception, ConfigError)
    assert "name it with --experiment (exp, other)" in str(both.exception)


def test_the_experiments_file_sets_the_control(tmp_path: Path) -> None:
    _logged(tmp_path)
    config = tmp_path / "experiments.toml"
    config.write_text(
        '[[experiments]]\nname = "exp"\nactive = false\n'
        '[[experiments.arms]]\nname = "better"\nshare = 0.5\n'
        '[[experiments.arms]]\nname = "control"\nshare = 0.5\n'
    )
    result = _invoke(tmp_path, "--experiment", "exp", KGREC_SERVING__EXPERIMENTS_FILE=str(config))
    assert result.exit_code == 0, result.output
    assert "experiment exp (control: better;" in result.output


def test_an_empty_log_and_an_unknown_experiment(tmp_path: Path) -> None:
    result = _invoke(tmp_path)
    assert result.exit_code == 0 and "no experiment has an impression" in result.output
    _logged(tmp_path)
    unknown = _invoke(tmp_path, "--experiment", "nope")
    assert isinstance(unknown.exception, NotFoundError)
    assert "experiments in it: 'exp', 'other'" in str(unknown.exception)
