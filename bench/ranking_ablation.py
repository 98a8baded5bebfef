"""Ablations of the served ranking stage on one seed of an evaluation protocol.

Builds the protocol's split plan for ``--seed`` over the newest snapshot under
``KGREC_DATA_DIR`` (or ``--snapshot``), fits the GNN and every baseline ONCE and
caches them with their metrics under ``--cache`` (the first run of a seed takes
the GNN's fit, ~7 min on 2 cores; later runs load it in seconds), then trains
only the staged ranking (:class:`kgrec.gnn.ranking.StagedRanking` over the served
generators, exactly as ``kgrec evaluate`` builds its ``kgrec`` row) with the
stage settings given by ``--set`` and prints Recall@20 per view: the served
ranking, with the fresh-slot policy off, and the best baseline of the same run;
then what the served ranking's answers show (its exposure, ``gnn/metrics.py``).

    .venv/bin/python bench/ranking_ablation.py --seed 0
    .venv/bin/python bench/ranking_ablation.py --seed 0 --set per_generator=200 \
        --set ranker.num_leaves=63

``--set`` takes ``StagedConfig`` fields (``ranker.<field>`` for ``RankerConfig``);
tuples as comma-separated values.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import torch

from kgrec.gnn.baselines import ItemKNN, Recommender
from kgrec.gnn.evaluation import default_methods, evaluate_view, interactions_of
from kgrec.gnn.protocols import PROTOCOLS, build_plan
from kgrec.gnn.ranking.config import StagedConfig
from kgrec.gnn.ranking.fitting import SERVED_GENERATORS, staged_over
from kgrec.gnn.ranking.next_item import NextItem
from kgrec.gnn.ranking.peer_popularity import PeerPopularity
from kgrec.gnn.ranking.recency import RecentItemKNN
from kgrec.gnn.ranking.staged import StagedRanking
from kgrec.gnn.report import EXPOSURE, OURS
from kgrec.gnn.schema import NUM_PRODUCT_EXTRA, PRODUCT
from kgrec.gnn.snapshot import Snapshot
from kgrec.gnn.splits import SplitPlan
from kgrec.gnn.torch_files import load_checked
from kgrec.settings import Settings

METRIC = "recall@20"


def newest_snapshot(data_dir: Path) -> Path:
    """The most recently written snapshot under ``data_dir``/snapshots."""
    paths = sorted((data_dir / "snapshots").glob("*.pt"), key=lambda p: p.stat().st_mtime)
    if not paths:
        raise SystemExit(f"no snapshot under {data_dir}/snapshots: run `kgrec evaluate` once")
    return paths[-1]


def fitted_generators(
    snapshot: Snapshot, plan: SplitPlan, seed: int, cache: Path
) -> tuple[dict[str, Recommender], dict[str, dict[str, dict[str, float]]]]:
    """Every method but the staged ranking, fitted on ``plan``, and their metrics per view.

    Returns:
        (name -> fitted model, view -> method -> metrics); loaded from ``cache``
        when a previous run wrote it.
    """
    # "h3": the metrics read the validation pairs as history, in time order, and
    # ALS solves every user from it (SplitPlan.history, ImplicitALS); caches
    # written before that hold other metrics (an h3 ALS pickled with the
    # fold_in flag of 807202a loads: the flag is no longer read); "h4": KG-kNN holds
    # its sparse votes (505e59b), which an h3 KG-kNN lacks, and every method scores
    # a user alone as in a batch, under the service's BLAS threads; "h5": peer
    # popularity holds a newcomer's row (a7aacc6), which an h4 one lacks (it fails
    # at its first score, not at load)
    path = cache / f"fitted-h5-{snapshot.version}-{plan.seed}.pt"
    if path.is_file():
        try:
            blob = load_checked(path)
        except (ModuleNotFoundError, AttributeError, ValueError) as e:  # older layout, damaged
            print(f"refitting: the cache {path} no longer loads ({e})", flush=True)
        else:
            cached: dict[str, Recommender] = blob["models"]
            scored: dict[str, dict[str, dict[str, float]]] = blob["metrics"]
            added = [g for g in SERVED_GENERATORS if g not in cached]  # newer than the cache
            item_knn = cached["item_knn"]
            assert isinstance(item_knn, ItemKNN)
            later: dict[str, Recommender] = {
                "recent_item_knn": RecentItemKNN(item_knn),
                "peer_popularity": PeerPopularity.from_snapshot(snapshot),
                "next_item": NextItem(),
            }
            for name in added:
                _fit_into(later[name], plan, cached, scored)
            if added:
                torch.save({"models": cached, "metrics": scored}, path)
            return cached, scored
    text_dim = int(snapshot.data[PRODUCT].x.shape[1]) - NUM_PRODUCT_EXTRA
    config = dataclasses.replace(Settings().gnn, seed=seed)  # as `kgrec evaluate`
    methods = default_methods(snapshot, config, "cpu", text_dim, seed, show_progress=True)
    models: dict[str, Recommender] = {}
    metrics: dict[str, dict[str, dict[str, float]]] = {}
    for model in methods:
        if isinstance(model, StagedRanking) or model.name.startswith("kgrec"):
            continue
        _fit_into(model, plan, models, metrics)
    cache.mkdir(parents=True, exist_ok=True)
    torch.save({"models": models, "metrics": metrics}, path)
    return models, metrics


def _fit_into(
    model: Recommender,
    plan: SplitPlan,
    models: dict[str, Recommender],
    metrics: dict[str, dict[str, dict[str, float]]],
) -> None:
    """Fit ``model`` on ``plan``'s training pairs; add it and its metrics per view."""
    t0 = time.perf_counter()
    model.fit(plan.train, plan.num_users, plan.num_items, plan.val)
    print(f"fit {model.name}: {time.perf_counter() - t0:.0f} s", flush=True)
    models[model.name] = model
    for name, view in plan.views.items():
        metrics.setdefault(name, {})[model.name] = evaluate_view(model, plan, view)


def parse_value(value: str, current: Any) -> Any:
    """``value`` (a ``--set`` text) as the type of the field's ``current`` value."""
    if isinstance(current, tuple):
        kind = type(current[0]) if current else str
        return tuple(kind(v) for v in value.split(",") if v)
    if isinstance(current, bool):
        return value.lower() in ("1", "true", "yes")
    return type(current)(value)


def configured(settings: list[str]) -> StagedConfig:
    """The default stage settings with ``key=value`` overrides applied."""
    config = StagedConfig()
    for item in settings:
        key, _, value = item.partition("=")
        if key.startswith("ranker."):
            field = key.removeprefix("ranker.")
            ranker = config.ranker
            ranker = dataclasses.replace(
                ranker, **{field: parse_value(value, getattr(ranker, field))}
            )
            config = dataclasses.replace(config, ranker=ranker)
        else:
            config = dataclasses.replace(config, **{key: parse_value(value, getattr(config, key))})
    return config


def trained_ranking(
    models: dict[str, Recommender], plan: SplitPlan, seed: int, settings: list[str]
) -> StagedRanking:
    """The staged ranking over the fitted ``models``, its ranker trained on ``plan``.

    With the stage settings ``settings`` (``--set`` items) over the defaults, the
    ranker seeded as ``kgrec evaluate`` seeds it unless they set it; checked to
    have learnt no test pair.
    """
    config = configured(settings)
    staged = staged_over(models, seed)
    if not any(item.startswith("ranker.seed=") for item in settings):  # as `kgrec evaluate`
        config = dataclasses.replace(config, ranker=dataclasses.replace(config.ranker, seed=seed))
    staged.config = config
    staged.fit(plan.train, plan.num_users, plan.num_items, plan.val)
    staged.assert_no_test_labels([v.test for v in plan.views.values()])
    return staged


def main() -> None:
    """Fit (or load) the generators of one seed, train the ranking variant, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--protocol", choices=PROTOCOLS, default="kgrec")
    parser.add_argument("--snapshot", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/kgrec-rank-cache"))
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("kgrec.gnn.ranking").setLevel(logging.INFO)
    data_dir = Path(os.environ.get("KGREC_DATA_DIR", "/tmp/kgrec-eval"))
    snapshot = Snapshot.load(args.snapshot or newest_snapshot(data_dir))
    plan = build_plan(interactions_of(snapshot), args.protocol, args.seed)
    cache = args.cache / args.protocol
    models, metrics = fitted_generators(snapshot, plan, args.seed, cache)
    t0 = time.perf_counter()
    staged = trained_ranking(models, plan, args.seed, args.set)
    fit_s = time.perf_counter() - t0
    served = {"kgrec": staged, "kgrec/no_fresh_slots": staged.without_fresh_slots()}
    for name, view in plan.views.items():
        for method, model in served.items():
            metrics[name][method] = evaluate_view(model, plan, view)
    assert staged.ranker is not None
    scores = [b.best_score.get("valid_0", {}).get("ndcg@20", 0.0) for b in staged.ranker.boosters]
    valid = sum(scores) / len(scores)
    print(
        f"seed {args.seed}, protocol {args.protocol}, ranker fit {fit_s:.0f} s, "
        f"validation NDCG@20 of the ranker (its early-stopping groups) {valid:.4f}"
    )
    print(f"settings: {json.dumps(dataclasses.asdict(staged.config))}")
    print(
        "| view | kgrec | no slots | recent_item_knn | peer_popularity | best baseline "
        "| ratio | ratio no slots |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, methods in metrics.items():
        base = {m: v[METRIC] for m, v in methods.items() if m not in OURS}
        best = max(base, key=lambda m: base[m])
        ours, off = methods["kgrec"][METRIC], methods["kgrec/no_fresh_slots"][METRIC]
        ref = max(base[best], 1e-9)
        print(
            f"| {name} | {ours:.4f} | {off:.4f} | {methods['recent_item_knn'][METRIC]:.4f} | "
            f"{methods['peer_popularity'][METRIC]:.4f} | "
            f"{best} {base[best]:.4f} | "
            f"{ours / ref:.2f}x | {off / ref:.2f}x |"
        )
    print(
        "\nWhat kgrec's answers show (every test user's top 20; fresh = no training "
        "interaction):\n\n| view | coverage@20 | fresh_coverage@20 | fresh@20 |\n"
        "| --- | --- | --- | --- |"
    )
    for name, methods in metrics.items():
        shown = methods["kgrec"]
        print(f"| {name} | " + " | ".join(f"{shown[m]:.4f}" for m in EXPOSURE) + " |")


if __name__ == "__main__":
    main()
