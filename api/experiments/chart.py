"""The A/B report's PNG: per metric, each arm's rate with its interval."""

from __future__ import annotations

from pathlib import Path

from kgrec.api.experiments.report import METRICS, ExperimentReport

_TITLES = {"ctr": "CTR: answers clicked", "conversion": "conversion: answers bought from"}


def write_chart(report: ExperimentReport, path: Path) -> Path:
    """Write a bar chart of every arm's CTR and conversion with their intervals.

    Returns:
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [a.arm for a in report.arms]
    fig, axes = plt.subplots(1, len(METRICS), figsize=(6 + 1.5 * len(names), 4.5), squeeze=False)
    level = round(100 * (1 - report.alpha))
    try:
        for ax, metric in zip(axes[0], METRICS, strict=True):
            props = [a.metrics[metric].proportion for a in report.arms]
            rates = [0.0 if p.trials == 0 else 100 * p.rate for p in props]
            below = [r - 100 * p.low for r, p in zip(rates, props, strict=True)]
            above = [100 * p.high - r for r, p in zip(rates, props, strict=True)]
            colours = ["tab:gray" if n == report.control else "tab:blue" for n in names]
            ax.bar(names, rates, yerr=[below, above], capsize=6, color=colours)
            ax.set_title(_TITLES[metric])
            ax.set_ylabel(f"% of answers ({level} % interval)")
            for i, p in enumerate(props):
                ax.annotate(f"n={p.trials}", (i, 0), ha="center", va="bottom", fontsize=8)
        fig.suptitle(f"experiment {report.experiment} (control: {report.control})")
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
    return path
