"""Evaluation report: report.json, report.md and one PNG bar chart per split."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from kgrec.gnn.evaluation import RATIO_METRIC, EvaluationResult
from kgrec.gnn.metrics import EXPOSURE_K
from kgrec.gnn.protocols import DESCRIPTIONS
from kgrec.gnn.significance import LEVEL, ratio_interval

METRICS: tuple[str, ...] = ("recall@10", "recall@20", "ndcg@10", "ndcg@20")
EXPOSURE: tuple[str, ...] = (
    f"coverage@{EXPOSURE_K}",
    f"fresh_coverage@{EXPOSURE_K}",
    f"fresh@{EXPOSURE_K}",
)
"""What the answers show (:mod:`kgrec.gnn.metrics`): the report's second table."""
SERVED = "kgrec"
"""The served ranking's row (the staged ranking, :mod:`kgrec.gnn.ranking`)."""
OURS: tuple[str, ...] = (
    SERVED,
    f"{SERVED}/no_fresh_slots",
    "gnn",
    "kg_knn",
    "recent_item_knn",
    "next_item",
    "peer_popularity",
)
"""kgrec's own rows; every other row is a baseline."""
TARGETS: dict[str, dict[str, float]] = {
    SERVED: {"": 1.1},
    "gnn": {"warm": 0.95, "cold_item": 1.2, "cold_user": 1.2},
}


def _json_ready(value: object) -> object:
    """``value`` with every NaN or infinite float as None: report.json stays strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return value


def _mean(stat: tuple[float, float] | None) -> str:
    """A (mean, std) summary's mean as table text; a dash when missing or undefined."""
    return "-" if stat is None or math.isnan(stat[0]) else f"{stat[0]:.4f}"


def _cell(stat: tuple[float, float] | None) -> str:
    """``mean ± std``, or :func:`_mean`'s dash."""
    if stat is None or math.isnan(stat[0]):
        return _mean(stat)
    return f"{stat[0]:.4f} ± {stat[1]:.4f}"


def _target(method: str, split: str) -> float:
    targets = TARGETS.get(method, {})
    return next((v for k, v in targets.items() if split.startswith(k)), 1.0)


class EvaluationReport:
    """Formats an :class:`EvaluationResult` and writes it to a reports directory.

    Args:
        result: metrics per split, method and seed.
        command: the command line that produced it (recorded in the report).
    """

    def __init__(self, result: EvaluationResult, command: str = "") -> None:
        self.result, self.command = result, command
        self.summary = result.summary()
        self._ratios: dict[str, dict[str, dict[str, float | str | bool]]] | None = None

    def ratios(self) -> dict[str, dict[str, dict[str, float | str | bool]]]:
        """Compare our methods' Recall@20 with the best baseline's on every split.

        Returns method -> split -> the ratio to the best baseline's Recall@20, that
        baseline, whether the target is met and, where the result holds both
        methods' per-user figures, the ratio's paired-bootstrap interval over the
        test users (``low``, ``high``: :func:`~kgrec.gnn.significance.ratio_interval`).

        Methods: the served ranking (``kgrec``) and the bare GNN, where present;
        baselines: every row outside :data:`OURS`. The interval is left out where
        the two methods were not scored on the same seeds, or is not finite.
        """
        if self._ratios is None:
            self._ratios = self._compute_ratios()
        return self._ratios

    def _compute_ratios(self) -> dict[str, dict[str, dict[str, float | str | bool]]]:
        out: dict[str, dict[str, dict[str, float | str | bool]]] = {}
        for method in (SERVED, "gnn"):
            for split, methods in self.summary.items():
                base = {m: s[RATIO_METRIC][0] for m, s in methods.items() if m not in OURS}
                if method not in methods or not base:
                    continue
                best = max(base, key=lambda m: base[m])
                ratio = methods[method][RATIO_METRIC][0] / max(base[best], 1e-12)
                target = _target(method, split)
                row: dict[str, float | str | bool] = {
                    "best_baseline": best,
                    "ratio": ratio,
                    "target": target,
                    "met": ratio >= target,
                }
                users = self.result.per_user.get(split, {})
                ours, theirs = users.get(method, {}), users.get(best, {})
                seeds = self.result.seeds
                if seeds and all(s in ours and s in theirs for s in seeds):
                    interval = ratio_interval([ours[s] for s in seeds], [theirs[s] for s in seeds])
                    if math.isfinite(interval.low) and math.isfinite(interval.high):
                        row |= {"low": interval.low, "high": interval.high}
                out.setdefault(method, {})[split] = row
        return out

    def ratio_lines(self) -> list[str]:
        """One line per method and split: the ratio to the best baseline, interval, target."""
        return [
            f"{split}: {method} / {v['best_baseline']} Recall@20 = {v['ratio']:.2f} "
            + (
                f"({LEVEL:.0%} interval over test users {v['low']:.2f}-{v['high']:.2f}; "
                if "low" in v
                else "("
            )
            + f"target {v['target']:.2f}: {'met' if v['met'] else 'NOT met'})"
            for method, splits in self.ratios().items()
            for split, v in splits.items()
        ]

    def table(self, metrics: tuple[str, ...] = METRICS) -> str:
        """A Markdown table: split, method, ``metrics`` as mean ± std over seeds.

        A metric a run lacks (a report written before it existed) or that is
        undefined there (fresh coverage where the view ranks no fresh product)
        reads as a dash.
        """
        head = "| split | method | " + " | ".join(metrics) + " |"
        lines = [head, "|" + " --- |" * (len(metrics) + 2)]
        for split, methods in self.summary.items():
            for method, stats in methods.items():
                cells = [_cell(stats.get(m)) for m in metrics]
                name = f"**{method}**" if method == SERVED else method
                lines.append(f"| {split} | {name} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def exposure_lines(self) -> list[str]:
        """One line per split: what the served ranking's answers show, with and without slots.

        Empty when the run scored neither served row.
        """
        lines = []
        for split, methods in self.summary.items():
            rows = [m for m in (SERVED, f"{SERVED}/no_fresh_slots") if m in methods]
            if not rows:
                continue
            parts = [
                f"{m} " + ", ".join(f"{e} {_mean(methods[m].get(e))}" for e in EXPOSURE)
                for m in rows
            ]
            lines.append(f"{split}: " + "; ".join(parts))
        return lines

    def tuned_lines(self) -> str:
        """One Markdown bullet per tuned method: the values it picked on each seed."""
        lines = []
        for method, per_seed in self.result.tuned.items():
            picks = []
            for seed, record in zip(self.result.seeds, per_seed, strict=False):
                values = ", ".join(f"{k}={v}" for k, v in record.items() if k != "val_recall@20")
                score = record.get("val_recall@20")
                val = f" (val {score:.4f})" if isinstance(score, float) else ""
                picks.append(f"seed {seed}: {values}{val}")
            lines.append(f"- {method}: " + "; ".join(picks))
        return "\n".join(lines)

    def markdown(self) -> str:
        """The whole report.md."""
        r = self.result
        sizes = "\n".join(f"- {k}: {v}" for k, v in r.sizes.items())
        ratio_lines = "\n".join(f"- {line}" for line in self.ratio_lines())
        fit = "\n".join(
            f"- {m}: {sum(s) / len(s):.1f} s per fit" for m, s in r.seconds.items() if s
        )
        tuned = self.tuned_lines() or "(no method tuned)"
        about = DESCRIPTIONS.get(r.protocol, "")
        return (
            f"# kgrec evaluation: protocol `{r.protocol}`\n\n"
            + (f"Protocol `{r.protocol}`: {about}.\n\n" if about else "")
            + f"Generated {time.strftime('%Y-%m-%d %H:%M:%S')} by `{self.command}`; "
            f"seeds {r.seeds}; mean ± standard deviation over seeds; full ranking over "
            "all products, each user's history (training, validation and revealed pairs) "
            "excluded.\n\n"
            f"{self.table()}\n\n## kgrec (served) and the GNN against the best baseline "
            "(Recall@20)\n\n"
            "The interval: how far the ratio moves when each seed's test users are "
            "resampled, the same users for both methods (a paired bootstrap; not the "
            "spread from refitting, which the table's standard deviations show).\n\n"
            f"{ratio_lines}\n\n## What the answers show\n\n"
            f"Over all test users' top {EXPOSURE_K} of a view: `coverage@{EXPOSURE_K}`, the "
            "share of the ranked products shown to at least one of them; "
            f"`fresh_coverage@{EXPOSURE_K}`, the same among fresh products (no training "
            f"interaction; a dash where the view ranks none); `fresh@{EXPOSURE_K}`, the "
            "share of an answer's places that hold a fresh product (mean over users). "
            "What the fresh slots buy, which no recall figure counts.\n\n"
            f"{self.table(EXPOSURE)}\n\n## Test sizes (first seed)\n\n{sizes}\n\n"
            f"## Fit time (tuning included)\n\n{fit}\n\n"
            f"## Tuned hyper-parameters (validation Recall@20, per seed)\n\n{tuned}\n\n"
            "## GNN configuration\n\n"
            f"```json\n{json.dumps(r.config, indent=2)}\n```\n"
        )

    def write(self, directory: Path) -> list[Path]:
        """Write report.json, report.md and ``<split>.png``; return their paths."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        directory.mkdir(parents=True, exist_ok=True)
        r = self.result
        payload = {
            "command": self.command,
            "protocol": r.protocol,
            "seeds": r.seeds,
            "runs": r.runs,
            "summary": self.summary,
            "ratios": self.ratios(),
            "sizes": r.sizes,
            "fit_seconds": r.seconds,
            "tuned": r.tuned,
            "config": r.config,
        }
        paths = [directory / "report.json", directory / "report.md"]
        paths[0].write_text(json.dumps(_json_ready(payload), indent=2, allow_nan=False))
        paths[1].write_text(self.markdown())
        for split, methods in self.summary.items():
            names = list(methods)
            fig, ax = plt.subplots(figsize=(8, 4))
            width = 0.8 / len(METRICS)
            for j, metric in enumerate(METRICS):
                means = [methods[n][metric][0] for n in names]
                stds = [methods[n][metric][1] for n in names]
                xs = [i + (j - (len(METRICS) - 1) / 2) * width for i in range(len(names))]
                ax.bar(xs, means, width, yerr=stds, capsize=2, label=metric)
            ax.set_xticks(range(len(names)), names)
            ax.set_title(f"{split} (mean ± std over seeds {r.seeds})")
            ax.legend(fontsize=8)
            fig.tight_layout()
            path = directory / f"{split.replace('@', '_at_').replace('/', '_')}.png"
            fig.savefig(path, dpi=100)
            plt.close(fig)
            paths.append(path)
        return paths
