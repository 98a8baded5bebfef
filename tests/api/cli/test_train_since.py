"""``kgrec train --since``'s command line.

The gate's table and decision as printed, and ``--force`` refused without
``--since`` (the retraining itself: tests/gnn/test_retrain.py).
"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kgrec.api.cli import app
from kgrec.api.cli.train import gate_report
from kgrec.errors import ConfigError
from kgrec.gnn.retrain import DECIDING_VIEW, GateDecision, GateRow


def _decision(promote: bool, serving: float | None) -> GateDecision:
    return GateDecision(
        serving_version="v1",
        tolerance=0.02,
        rows=[
            GateRow(DECIDING_VIEW, 80, 95, serving, 0.4),
            GateRow(f"{DECIDING_VIEW}/new_users", 8, 8, None if serving is None else 0.25, 0.5),
        ],
        promote=promote,
        forced=False,
        reason="promoted: ..." if promote else "not promoted: ...",
        warm_start="yes: same encoder",
    )


def test_the_table_shows_both_figures_and_the_change_per_view() -> None:
    text = gate_report(_decision(True, 0.5), "v2", ["v0"])
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("view"))
    assert header.split() == ["view", "users", "pairs", "serving", "v1", "new", "v2", "change"]
    main = next(line for line in lines if line.startswith(f"{DECIDING_VIEW} "))
    assert main.split() == [DECIDING_VIEW, "80", "95", "0.5000", "0.4000", "-20.0%"]
    new = next(line for line in lines if line.startswith(f"{DECIDING_VIEW}/new_users"))
    assert new.split()[-1] == "+100.0%"
    assert "gate (recall@20, tolerance 0.02): v1 -> v2" in text
    assert "artifact version v2: promoted (LATEST)" in text and "pruned: v0" in text
    assert "kgrec artifacts promote" not in text


def test_a_refusal_says_how_to_promote_by_hand_and_unscored_is_empty() -> None:
    text = gate_report(_decision(False, None), "v2")
    main = next(line for line in text.splitlines() if line.startswith(f"{DECIDING_VIEW} "))
    assert main.split() == [DECIDING_VIEW, "80", "95", "0.4000"], "no serving figure, no change"
    assert "kept, not promoted" in text
    assert "promote it anyway with `kgrec artifacts promote v2`" in text


def test_force_without_since_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["train", "--force"], env={"KGREC_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    )
    assert isinstance(result.exception, ConfigError)
    assert "--force only applies with --since VERSION" in str(result.exception)
