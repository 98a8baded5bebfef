"""Variants of the bare GNN on every view of an evaluation protocol, over several seeds.

Fits only the GNN (``GNNConfig`` with the ``--set`` overrides) on each seed's split
plan over the newest snapshot under ``KGREC_DATA_DIR`` (or ``--snapshot``) and prints
Recall@20 per view and seed, then the mean: the loop behind docs/gnn.md's tables of
model changes (about a minute per seed and 30 epochs on 2 cores). ``kgrec evaluate``
puts the chosen model beside the baselines and the served ranking.

    .venv/bin/python bench/gnn_ablation.py
    .venv/bin/python bench/gnn_ablation.py --seeds 0,1,2 --set product_memory=true \
        --set memory_output=true --set degree_bias=true --set cold_user_dropout=0.2 \
        --set epochs=60 --set patience=8

``--set`` takes :class:`~kgrec.gnn.config.GNNConfig` fields.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import torch
from ranking_ablation import newest_snapshot, parse_value

from kgrec.gnn.config import GNNConfig
from kgrec.gnn.evaluation import GNNRecommender, evaluate_view, interactions_of
from kgrec.gnn.protocols import PROTOCOLS, build_plan
from kgrec.gnn.snapshot import Snapshot

METRIC = "recall@20"


def configured(settings: list[str]) -> GNNConfig:
    """The default GNN configuration with ``key=value`` overrides applied."""
    default = GNNConfig()
    changes: dict[str, Any] = {}
    for item in settings:  # one replace: fields checked together (memory_output needs memory)
        key, _, value = item.partition("=")
        changes[key] = parse_value(value, getattr(default, key))
    return dataclasses.replace(default, **changes)


def main() -> None:
    """Fit the GNN variant on each seed and print Recall@20 per view."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="kgrec")
    parser.add_argument("--snapshot", type=Path, default=None)
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    args = parser.parse_args()
    data_dir = Path(os.environ.get("KGREC_DATA_DIR", "/tmp/kgrec-eval"))
    snapshot = Snapshot.load(args.snapshot or newest_snapshot(data_dir))
    config = configured(args.set)
    inter = interactions_of(snapshot)
    print(f"settings: {args.set or 'defaults'}")
    runs: dict[str, list[float]] = {}
    for seed in (int(s) for s in args.seeds.split(",")):
        plan = build_plan(inter, args.protocol, seed)
        model = GNNRecommender(snapshot, dataclasses.replace(config, seed=seed), "cpu")
        t0 = time.perf_counter()
        model.fit(plan.train, plan.num_users, plan.num_items, plan.val)
        fit_s = time.perf_counter() - t0
        for name, view in plan.views.items():
            runs.setdefault(name, []).append(evaluate_view(model, plan, view)[METRIC])
        figures = " ".join(f"{name} {values[-1]:.4f}" for name, values in runs.items())
        epochs = len(model.epoch_seconds)
        print(f"seed {seed}: fit {fit_s:.0f} s, {epochs} epochs; {METRIC}: {figures}", flush=True)
    print(f"| view | {METRIC}, mean over seeds {args.seeds} |")
    print("| --- | --- |")
    for name, values in runs.items():
        print(f"| {name} | {sum(values) / len(values):.4f} |")


if __name__ == "__main__":
    torch.set_num_threads(min(2, torch.get_num_threads()))
    main()
