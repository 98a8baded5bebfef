"""``kgrec ab-report``: the experiments' report per arm from the event log.

The report is :mod:`kgrec.api.experiments.report`'s; docs/experiments.md reads it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kgrec.api.cli._app import app, settings_of
from kgrec.api.cli.tables import table
from kgrec.errors import ConfigError

if TYPE_CHECKING:
    from kgrec.api.experiments.report import ExperimentReport

_LABELS = {
    "ctr": "CTR: answers with a click / answers",
    "conversion": "conversion: answers with a purchase / answers",
}


def _pct(value: float) -> float | None:
    return None if math.isnan(value) else 100.0 * value


def _p(value: float) -> str | None:
    """A p-value to 4 decimals (``<0.0001`` below)."""
    if math.isnan(value):
        return None
    return "<0.0001" if value < 1e-4 else f"{value:.4f}"


def _span(low: float, high: float, sign: str) -> str | None:
    """An interval in percent (points), e.g. ``1.20..3.45``; None when undefined."""
    if math.isnan(low):
        return None
    return f"{100 * low:{sign}.2f}..{100 * high:{sign}.2f}"


def _render(report: ExperimentReport) -> str:
    """The report as text: a line of counts per arm, then a table per metric."""
    from kgrec.api.experiments.report import METRIC_KIND, METRICS

    level = round(100 * (1 - report.alpha))
    lines = [
        f"experiment {report.experiment} (control: {report.control}; MDE "
        f"{100 * report.mde:g} percentage point(s), alpha {report.alpha:g}, power "
        f"{report.power:g})",
        "",
        table(
            ["arm", "answers", "click events", "purchase events"],
            [[a.arm, a.impressions, a.clicks, a.purchases] for a in report.arms],
        ),
    ]
    for metric in METRICS:
        rows = []
        for a in report.arms:
            m = a.metrics[metric]
            p, d = m.proportion, m.vs_control
            rows.append(
                [
                    a.arm,
                    p.trials,
                    p.successes,
                    _pct(p.rate),
                    _span(p.low, p.high, ""),
                    None if d is None else _pct(d.diff),
                    None
                    if d is None or math.isnan(d.low)
                    else f"{100 * d.low:+.2f}..{100 * d.high:+.2f}",
                    None if d is None else _p(d.p_value),
                    m.still_needed,
                ]
            )
        headers = [
            "arm",
            "answers",
            f"with a {METRIC_KIND[metric]}",
            "rate %",
            f"{level} % CI",
            "diff (points)",
            f"diff {level} % CI",
            "p-value",
            "answers still needed",
        ]
        lines += ["", _LABELS[metric], table(headers, rows, digits=2)]
    control = report.arms[0].metrics
    lines += [
        "",
        f"answers still needed: per arm, to detect a rise of {100 * report.mde:g} "
        f"percentage point(s) over the control's rate at alpha {report.alpha:g} with power "
        f"{report.power:g}, {control['ctr'].needed} answers per arm are needed for CTR and "
        f"{control['conversion'].needed} for conversion",
    ]
    if report.unmatched_events:
        lines.append(
            f"{report.unmatched_events} logged event(s) name a request_id no logged answer "
            "has (served outside an experiment, or forgotten)"
        )
    return "\n".join(lines)


@app.command("ab-report")
def ab_report(
    ctx: typer.Context,
    experiment: Annotated[
        str | None, typer.Option(help="Report this experiment only (default: every one logged).")
    ] = None,
    mde: Annotated[
        float,
        typer.Option(
            min=1e-6,
            max=0.999,
            help="Minimum detectable effect, an absolute rate difference (0.01 = 1 point).",
        ),
    ] = 0.01,
    png: Annotated[
        Path | None, typer.Option(help="Write a chart of the rates and intervals to this PNG.")
    ] = None,
) -> None:
    """Report the experiments per arm from the event log.

    The log is <data_dir>/experiments/events.jsonl. Per arm: answers served, click
    and purchase events, CTR and conversion with 95 % intervals (Wilson), the
    difference to the control (the first arm) with its interval and two-proportion
    z-test p-value, and the answers per arm still needed to detect --mde at alpha
    0.05 with power 0.8. See docs/experiments.md.
    """
    from kgrec.api.experiments.chart import write_chart
    from kgrec.api.experiments.config import read_experiments
    from kgrec.api.experiments.log import EventLog
    from kgrec.api.experiments.report import build_reports

    settings = settings_of(ctx)
    orders = {}
    if (
        settings.serving.experiments_file is not None
        and settings.serving.experiments_file.is_file()
    ):
        config = read_experiments(settings.serving.experiments_file)
        orders = {e.name: [a.name for a in e.arms] for e in config.experiments}
    log = EventLog.in_data_dir(settings.data_dir)
    reports = build_reports(log.read(), experiment=experiment, arm_orders=orders, mde=mde)
    if not reports:
        typer.echo(f"no experiment has an impression in {log.path} yet")
        return
    if png is not None and len(reports) > 1:
        names = ", ".join(r.experiment for r in reports)
        raise ConfigError(f"--png draws one experiment; name it with --experiment ({names})")
    for i, report in enumerate(reports):
        if i:
            typer.echo("")
        typer.echo(_render(report))
    if png is not None:
        typer.echo(f"chart: {write_chart(reports[0], png)}")
