"""``kgrec evaluate``: the GNN and the baselines on the same splits, over several seeds.

For every seed one :class:`~kgrec.gnn.splits.SplitPlan` is drawn; every method is fit
once on its training pairs (early stopping on its validation pairs) and scored on
every view (warm, cold_item, cold_user@k) by full ranking over all products with
the user's history (training + validation + revealed pairs) excluded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Final, NamedTuple

import torch
from threadpoolctl import threadpool_limits
from torch import Tensor
from tqdm import tqdm

from kgrec.gnn.baselines import (
    MFBPR,
    ImplicitALS,
    ImplicitItemKNN,
    ItemKNN,
    Popularity,
    Recommender,
    TextKNN,
    Tunable,
    history_matrix,
)
from kgrec.gnn.baselines.base import as_one_shopper, row_scores, serving_blas_threads
from kgrec.gnn.checkpoint import Checkpoint
from kgrec.gnn.config import GNNConfig
from kgrec.gnn.metrics import (
    EXPOSURE_K,
    answer_tops,
    exposure_metrics,
    fresh_places,
    mean_metrics,
    rank_metrics,
)
from kgrec.gnn.protocols import Protocol, build_plan
from kgrec.gnn.ranking import KGKNN, StagedRanking
from kgrec.gnn.ranking.fitting import staged_over
from kgrec.gnn.ranking.next_item import NextItem
from kgrec.gnn.ranking.peer_popularity import PeerPopularity
from kgrec.gnn.ranking.recency import RecentItemKNN
from kgrec.gnn.snapshot import INTERACTED, PRODUCT, USER, Snapshot
from kgrec.gnn.splits import Interactions, SplitPlan, SplitView
from kgrec.gnn.trainer import Trainer, deterministic_algorithms, graph_inputs

KS: tuple[int, ...] = (10, 20)
RATIO_METRIC: Final = "recall@20"
"""The metric the report compares methods by, kept per test user for its intervals."""


def interactions_of(snapshot: Snapshot) -> Interactions:
    """The snapshot's user -> product interactions, oldest first (ties in edge order)."""
    store = snapshot.data[INTERACTED]
    ei: Tensor = store.edge_index
    ts: Tensor = store.ts if "ts" in store else torch.zeros(ei.shape[1], dtype=torch.long)
    order = torch.argsort(ts, stable=True)
    return Interactions(
        ei[0][order],
        ei[1][order],
        ts[order],
        int(snapshot.data[USER].num_nodes),
        int(snapshot.data[PRODUCT].num_nodes),
    )


def product_text_vectors(snapshot: Snapshot, text_dim: int) -> Tensor:
    """[P, text_dim] text-encoder part of the product features."""
    x: Tensor = snapshot.data[PRODUCT].x
    return x[:, :text_dim]


class GNNRecommender:
    """The GNN behind the :class:`~kgrec.gnn.baselines.Recommender` protocol.

    ``scores`` re-runs message passing over ``history`` as the interaction edges,
    so revealed pairs of a cold user reach its embedding without retraining.

    Args:
        snapshot: the exported graph.
        config: GNN hyperparameters (its seed is replaced per run).
        device: torch device.
        show_progress: training progress bar.
    """

    name = "gnn"

    def __init__(
        self, snapshot: Snapshot, config: GNNConfig, device: str, show_progress: bool = False
    ) -> None:
        self.snapshot, self.config, self.device = snapshot, config, device
        self.show_progress = show_progress
        self.checkpoint: Checkpoint | None = None
        self.epoch_seconds: list[float] = []

    def fit(self, train: Tensor, num_users: int, num_items: int, val: Tensor | None = None) -> None:
        """Train on ``train`` [2, E] over the graph whose interactions are ``train``."""
        trainer = Trainer(self.config, self.device, show_progress=self.show_progress)
        result = trainer.fit(graph_inputs(self.snapshot, train), train, val)
        self.checkpoint = Checkpoint.from_training(result, self.snapshot, result.best)
        self.epoch_seconds = result.epoch_seconds

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P] dot products of GNN embeddings computed over ``history``."""
        if self.checkpoint is None:
            raise RuntimeError("GNNRecommender.scores before fit")
        with deterministic_algorithms(self.config.deterministic_on(self.device)):
            emb = self.checkpoint.embed_snapshot(self.snapshot, history, self.device)
        # a product per user (row_scores): a user scores the same bits in any batch
        return row_scores(emb[PRODUCT].cpu(), emb[USER][users.to(self.device)].cpu())


@dataclass
class EvaluationResult:
    """Metrics per split, method and seed.

    Attributes:
        runs: split -> method -> list (one per seed) of {metric: value}.
        seeds: the seeds evaluated.
        sizes: split -> {"users": test users, "pairs": test pairs} of the first seed.
        seconds: method -> fit seconds per seed (tuning included).
        tuned: method -> per seed, the hyper-parameters the method picked on
            validation and their validation Recall@20 (``val_recall@20``), for
            the methods that tune (:class:`~kgrec.gnn.baselines.Tunable`).
        config: GNN hyperparameters.
        protocol: the :mod:`kgrec.gnn.protocols` protocol whose split plans were scored.
        per_user: split -> method -> seed -> the [U] :data:`RATIO_METRIC` of each
            test user (NaN without targets; the same users in the same order for
            every method of a seed), for the report's intervals
            (:func:`~kgrec.gnn.significance.ratio_interval`). Not written to report.json.
    """

    runs: dict[str, dict[str, list[dict[str, float]]]] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=list)
    sizes: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: dict[str, list[float]] = field(default_factory=dict)
    tuned: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    config: dict[str, object] = field(default_factory=dict)
    protocol: str = "kgrec"
    per_user: dict[str, dict[str, dict[int, Tensor]]] = field(default_factory=dict)

    def summary(self) -> dict[str, dict[str, dict[str, tuple[float, float]]]]:
        """Aggregate the runs over seeds: split -> method -> metric -> (mean, std)."""
        out: dict[str, dict[str, dict[str, tuple[float, float]]]] = {}
        for split, methods in self.runs.items():
            out[split] = {}
            for method, rows in methods.items():
                stats = {}
                for metric in rows[0]:
                    vals = torch.tensor([r[metric] for r in rows], dtype=torch.float64)
                    std = float(vals.std(unbiased=False)) if len(vals) > 1 else 0.0
                    stats[metric] = (float(vals.mean()), std)
                out[split][method] = stats
        return out


class ViewMetrics(NamedTuple):
    """One method's figures on one view.

    Attributes:
        per_user: metric -> [U] per test user (``view.test_users`` in order):
            Recall@K and NDCG@K (NaN without targets) and ``fresh@20``, the share
            of the user's top 20 held by fresh products (no training interaction).
        catalogue: ``coverage@20`` and ``fresh_coverage@20``
            (:func:`~kgrec.gnn.metrics.exposure_metrics`) over all the view's answers.
    """

    per_user: dict[str, Tensor]
    catalogue: dict[str, float]

    def means(self) -> dict[str, float]:
        """The per-user metrics averaged over the users with a value, and the catalogue ones."""
        return mean_metrics(self.per_user) | self.catalogue


def evaluate_view(
    model: Recommender, plan: SplitPlan, view: SplitView, batch_users: int = 4096
) -> dict[str, float]:
    """Mean Recall@K / NDCG@K and exposure of ``model`` on ``view`` (:func:`view_metrics`)."""
    return view_metrics(model, plan, view, batch_users).means()


def view_metrics(
    model: Recommender, plan: SplitPlan, view: SplitView, batch_users: int = 4096
) -> ViewMetrics:
    """Per-user Recall@K / NDCG@K and the answers' exposure of ``model`` on ``view``.

    The users are ``view.test_users`` in order. The ranking covers
    ``view.candidates`` (all products when None), minus each user's history.
    Fresh products are those without a pair in ``plan.train`` (what the served
    ranking calls fresh and gives its fresh slots to). The users are scored
    under the BLAS thread count the service scores this catalogue with
    (:func:`~kgrec.gnn.baselines.base.serving_blas_threads`), and a batch of
    one shopper under one torch thread
    (:func:`~kgrec.gnn.baselines.base.as_one_shopper`): the scores' last bits
    depend on both.
    """
    history = plan.history(view)
    users = view.test_users
    outside = torch.zeros(plan.num_items, dtype=torch.bool)  # products not ranked
    if view.candidates is not None:
        outside[:] = True
        outside[view.candidates] = False
    fresh = torch.bincount(plan.train[1], minlength=plan.num_items) == 0
    shown = torch.zeros(plan.num_items, dtype=torch.bool)
    per_user: dict[str, list[Tensor]] = {}
    with threadpool_limits(serving_blas_threads(plan.num_items), "blas"):  # once per view
        for start in range(0, len(users), batch_users):
            batch = users[start : start + batch_users]
            with as_one_shopper(len(batch), plan.num_items):
                scores = model.scores(batch, history)
            target = history_matrix(view.test, batch, plan.num_items).bool()
            seen = history_matrix(history, batch, plan.num_items).bool() | outside
            for k, v in rank_metrics(scores, target, seen, ks=KS).items():
                per_user.setdefault(k, []).append(v)
            tops = answer_tops(scores, seen)
            shown[tops[tops >= 0]] = True
            per_user.setdefault(f"fresh@{EXPOSURE_K}", []).append(fresh_places(tops, fresh))
    return ViewMetrics(
        {k: torch.cat(v) for k, v in per_user.items()},
        exposure_metrics(shown, ~outside, fresh),
    )


def default_methods(
    snapshot: Snapshot,
    config: GNNConfig,
    device: str,
    text_dim: int,
    seed: int,
    show_progress: bool = False,
) -> list[Recommender]:
    """Build every method the evaluation compares for one seed.

    The GNN, the six baselines (seeded; the CF ones tune on validation), KG-kNN,
    recent item-kNN, peer popularity and
    the served staged ranking (over the :data:`~kgrec.gnn.ranking.fitting.SERVED_GENERATORS`
    among them), with and without fresh slots.

    The staged ranking comes after its generators: it reuses their fits and
    trains only its ranker (on validation pairs).
    """
    gnn = GNNRecommender(snapshot, replace(config, seed=seed), device, show_progress)
    item_knn = ItemKNN()
    base: list[Recommender] = [
        gnn,
        Popularity(),
        PeerPopularity.from_snapshot(snapshot),
        TextKNN(product_text_vectors(snapshot, text_dim)),
        item_knn,
        RecentItemKNN(item_knn),  # after item_knn: reads its fit
        NextItem(),
        MFBPR(seed=seed),
        ImplicitItemKNN(),
        ImplicitALS(seed=seed),
        KGKNN.from_snapshot(snapshot),
    ]
    staged = staged_over({m.name: m for m in base}, seed)
    return [*base, staged, staged.without_fresh_slots()]


def tuned_record(model: Recommender) -> dict[str, object] | None:
    """The hyper-parameters ``model`` picked on validation and their score, or None."""
    if not isinstance(model, Tunable) or not model.validation:
        return None
    best = max(score for _, score in model.validation)
    return {**model.chosen, "val_recall@20": best}


def run_evaluation(
    snapshot: Snapshot,
    config: GNNConfig,
    *,
    text_dim: int,
    device: str = "cpu",
    seeds: Sequence[int] = (0, 1, 2),
    methods: Callable[[int], list[Recommender]] | None = None,
    show_progress: bool = True,
    protocol: Protocol = "kgrec",
) -> EvaluationResult:
    """Fit every method per seed and evaluate it on every split view.

    Args:
        snapshot: exported graph (interactions with timestamps).
        config: GNN hyperparameters.
        text_dim: width of the text-encoder part of the product features.
        device: torch device the GNN trains and scores on.
        seeds: one split plan and one fit per seed.
        methods: seed -> methods to compare (default: :func:`default_methods`).
        show_progress: tqdm bars while training.
        protocol: which split plan each seed draws (:func:`kgrec.gnn.protocols.build_plan`):
            ``kgrec`` (warm, cold_item, cold_user@k views), ``random`` or ``replay``.

    Raises:
        ConfigError: an unknown ``protocol`` (before anything is fit).
    """
    result = EvaluationResult(seeds=list(seeds), config=config.to_dict(), protocol=protocol)
    inter = interactions_of(snapshot)
    bar = tqdm(total=len(seeds) * 7, desc="evaluate", disable=not show_progress)
    for seed in seeds:
        plan = build_plan(inter, protocol, seed)
        if not result.sizes:
            result.sizes = {
                name: {"users": len(v.test_users), "pairs": int(v.test.shape[1])}
                for name, v in plan.views.items()
            }
            result.sizes["train"] = {"pairs": int(plan.train.shape[1])}
            result.sizes["val"] = {"pairs": int(plan.val.shape[1])}
            # no training or validation pair: held out (kgrec), first seen in the test
            # part (random, replay)
            result.sizes["cold"] = {"users": len(plan.cold_users), "items": len(plan.cold_items)}
        chosen = (
            methods(seed)
            if methods is not None
            else default_methods(snapshot, config, device, text_dim, seed, show_progress)
        )
        bar.total = len(seeds) * len(chosen)
        for model in chosen:
            bar.set_postfix(seed=seed, method=model.name)
            t0 = time.perf_counter()
            model.fit(plan.train, plan.num_users, plan.num_items, plan.val)
            result.seconds.setdefault(model.name, []).append(time.perf_counter() - t0)
            if isinstance(model, StagedRanking):  # the ranker never learns a test pair
                model.assert_no_test_labels([v.test for v in plan.views.values()])
            record = tuned_record(model)
            if record is not None:
                result.tuned.setdefault(model.name, []).append(record)
            for name, view in plan.views.items():
                scored = view_metrics(model, plan, view)
                result.runs.setdefault(name, {}).setdefault(model.name, []).append(scored.means())
                result.per_user.setdefault(name, {}).setdefault(model.name, {})[seed] = (
                    scored.per_user[RATIO_METRIC]
                )
            bar.update(1)
    bar.close()
    return result
