"""``kgrec train --since VERSION``: retrain on the current graph behind a promotion gate.

1. Export the graph; warm-start from the checkpoint saved in ``VERSION`` when its
   weights fit the model to be trained (:mod:`kgrec.gnn.warm_start`), else train from a
   fresh initialisation and log why.
2. Train as ``kgrec train`` does (GNN, generators, ranker), without touching
   ``checkpoints/latest.pt`` until the new version is promoted.
3. Score the new checkpoint and ``VERSION``'s on the same views of the current graph
   (:func:`gate_views`): the validation holdout of :func:`kgrec.gnn.pipeline.training_plan`
   (per user, the latest 10 % of its interactions; same ``KGREC_GNN__SEED``), split into
   the shoppers ``VERSION`` knew and the new ones. The figure is Recall@20 of the GNN's
   dot-product retrieval over every product (training interactions excluded), with
   messages passed over the training interactions only.
4. Embed into a new artifact version holding the gate's figures (``gate.json``),
   unpromoted; promote it when its Recall@20 on the ``validation`` view is at least
   ``(1 - KGREC_ARTIFACTS__PROMOTE_TOLERANCE)`` times the serving one's (or when forced).

Why not the served ranking's Recall@20: its ranker is trained on the same validation
holdout, so on that holdout it would be scored on its own training labels.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import pandas as pd
import torch

from kgrec.files import write_atomic
from kgrec.gnn.artifacts import CHECKPOINT, USERS, ArtifactSet, VersionWriter
from kgrec.gnn.checkpoint import Checkpoint
from kgrec.gnn.evaluation import GNNRecommender, evaluate_view
from kgrec.gnn.inference import graph_inputs
from kgrec.gnn.latest_model import make_latest_checkpoint
from kgrec.gnn.options import PipelineOptions
from kgrec.gnn.pipeline import (
    export_current,
    train_snapshot,
    training_plan,
    write_artifacts,
)
from kgrec.gnn.schema import PRODUCT, USER
from kgrec.gnn.snapshot import Snapshot
from kgrec.gnn.splits import SplitPlan, SplitView, without_validation_history
from kgrec.gnn.trainer import TrainResult, memory_index_of
from kgrec.gnn.versions import GATE, LatestMovedError
from kgrec.gnn.warm_start import WarmStart, model_inputs, warm_start_state
from kgrec.graph import GraphStore
from kgrec.text_encoders import TextEncoder

log = logging.getLogger(__name__)
METRIC: Final = "recall@20"
DECIDING_VIEW: Final = "validation"


@dataclass(frozen=True)
class GateRow:
    """One view's figures: the serving version's (None: not scored) and the new one's."""

    view: str
    users: int
    pairs: int
    serving: float | None
    candidate: float

    @property
    def change(self) -> float | None:
        """Relative change new / serving - 1 (None: no serving figure or it is 0)."""
        if self.serving is None or self.serving == 0:
            return None
        return self.candidate / self.serving - 1.0


@dataclass(frozen=True)
class GateDecision:
    """What the promotion gate found and decided.

    Attributes:
        serving_version: the version compared against (``--since``).
        tolerance: the relative drop allowed (``KGREC_ARTIFACTS__PROMOTE_TOLERANCE``).
        rows: the figures per view; the decision reads :data:`DECIDING_VIEW`.
        promote: whether the new version is promoted.
        forced: promoted by ``--force`` whatever the figures said.
        reason: the decision in words.
        warm_start: whether the new model started from the serving one's weights, why.
    """

    serving_version: str
    tolerance: float
    rows: list[GateRow]
    promote: bool
    forced: bool
    reason: str
    warm_start: str
    metric: str = METRIC

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``gate.json``, ``kgrec artifacts list``)."""
        return asdict(self)


def gate_views(plan: SplitPlan, known_users: torch.Tensor) -> dict[str, SplitView]:
    """Build the views both versions are scored on.

    The validation holdout, and it split by whether the serving version knew the
    shopper (``known_users``: bool [U]). Empty parts are left out.
    """
    empty = plan.val[:, :0]
    known = known_users[plan.val[0]]
    views = {
        DECIDING_VIEW: SplitView(DECIDING_VIEW, empty, plan.val),
        f"{DECIDING_VIEW}/known_users": SplitView("known_users", empty, plan.val[:, known]),
        f"{DECIDING_VIEW}/new_users": SplitView("new_users", empty, plan.val[:, ~known]),
    }
    return {name: v for name, v in views.items() if v.test.shape[1]}


def score_checkpoint(
    checkpoint: Checkpoint,
    snapshot: Snapshot,
    plan: SplitPlan,
    views: dict[str, SplitView],
    device: str,
) -> dict[str, float]:
    """Recall@20 of ``checkpoint``'s GNN retrieval per view (messages over ``plan.train``).

    The views' targets are validation pairs (:func:`gate_views`), so no
    validation pair is the shoppers' history here.
    """
    model = GNNRecommender(snapshot, checkpoint.model.config, device)
    model.checkpoint = checkpoint
    scored = without_validation_history(plan)
    return {name: evaluate_view(model, scored, view)[METRIC] for name, view in views.items()}


def scorable(previous: Checkpoint, snapshot: Snapshot, plan: SplitPlan) -> str | None:
    """Why ``previous`` cannot score the current graph (None: it can)."""
    if previous.encoder_id != snapshot.encoder_id:
        return (
            f"it reads text encoder {previous.encoder_id!r} features, the graph now has "
            f"{snapshot.encoder_id!r} ones"
        )
    in_dims, _ = model_inputs(graph_inputs(snapshot, plan.train))
    changed = {t: (d, in_dims.get(t)) for t, d in previous.model.in_dims.items()}
    changed = {t: dims for t, dims in changed.items() if dims[0] != dims[1]}
    if changed:
        return f"feature widths changed (node type: (then, now)) {changed}"
    return None


def decide(rows: list[GateRow], tolerance: float, force: bool) -> tuple[bool, bool, str]:
    """Decide whether the new version is promoted.

    It is when its figure on :data:`DECIDING_VIEW` is at least ``(1 - tolerance)``
    times the serving one, or when forced.

    Returns:
        (promote, forced: promoted only because of ``force``, the reason in words).
    """
    main = next(r for r in rows if r.view == DECIDING_VIEW)
    if main.serving is None:
        verdict, why = False, "the serving version could not be scored"
    else:
        floor = main.serving * (1.0 - tolerance)
        verdict = main.candidate >= floor - 1e-12
        relation = "at least" if verdict else "below"
        why = (
            f"{METRIC} {main.candidate:.4f} is {relation} {floor:.4f} "
            f"(serving {main.serving:.4f} x (1 - tolerance {tolerance:g}))"
        )
    if force and not verdict:
        return True, True, f"forced (--force); the gate alone would refuse: {why}"
    return verdict, False, ("promoted: " if verdict else "not promoted: ") + why


@dataclass
class RetrainOutcome:
    """What ``kgrec train --since`` did.

    Attributes:
        version: the new artifact version (promoted or not).
        pruned: versions deleted after the promotion (KGREC_ARTIFACTS__KEEP_VERSIONS).
    """

    since: str
    version: str
    checkpoint_path: Path
    result: TrainResult
    warm: WarmStart
    decision: GateDecision
    artifacts: ArtifactSet
    pruned: list[str] = field(default_factory=list)


def _known_users(version_dir: Path, snapshot: Snapshot) -> torch.Tensor:
    """Mark the snapshot's users the version serves, as bool [U]."""
    served = set(pd.read_parquet(version_dir / USERS, columns=["id"])["id"].astype(str))
    return torch.tensor([u in served for u in snapshot.ids[USER]], dtype=torch.bool)


def retrain(
    options: PipelineOptions,
    store: GraphStore,
    encoder: TextEncoder,
    since: str,
    *,
    force: bool = False,
    writers: Sequence[VersionWriter] = (),
    show_progress: bool = True,
) -> RetrainOutcome:
    """Retrain from version ``since`` and promote the new version when the gate passes.

    Args:
        options: the GNN configuration, device, gate tolerance and data directory.
        store: the graph the new snapshot is exported from.
        encoder: the text encoder of the serving version.
        since: the serving version (``LATEST`` = the one LATEST names).
        force: promote whatever the gate finds.
        writers: add files to the new version (the serving indexes).
        show_progress: tqdm bars while exporting and training.

    Raises:
        ArtifactError: ``since`` is no version (the message lists them).
        ModelError: the graph has no interactions to train on.
    """
    versions = options.versions()
    if since.upper() == "LATEST":
        since = versions.latest() or since
    since_dir = versions.path(since)
    snapshot = export_current(options, store, encoder, show_progress=show_progress)
    known = _known_users(since_dir, snapshot)  # before training: ``since`` may be pruned during it
    plan = training_plan(snapshot, options.gnn.seed)
    config = options.gnn
    previous = (
        Checkpoint.load(since_dir / CHECKPOINT) if (since_dir / CHECKPOINT).is_file() else None
    )
    if previous is None:
        warm = WarmStart(None, f"version {since} holds no {CHECKPOINT}")
    else:
        graph = graph_inputs(snapshot, plan.train)
        products = snapshot.ids[PRODUCT]
        memory = memory_index_of(plan.train, len(products), config)
        memory_ids = [products[i] for i in memory.tolist()]
        warm = warm_start_state(previous, graph, config, snapshot.encoder_id, memory_ids)
    log.log(
        logging.INFO if warm.state is not None else logging.WARNING,
        "warm start from %s: %s (%s)",
        since,
        "yes" if warm.state is not None else "no, trained from scratch",
        warm.reason,
    )
    checkpoint, result, path = train_snapshot(
        options, snapshot, show_progress, initial_state=warm.state, make_latest=False
    )
    decision = _gate(options, since, known, previous, checkpoint, snapshot, plan, warm, force)
    if decision.promote and versions.latest() != since:
        decision = _not_promoted(decision, f"LATEST moved from {since} to {versions.latest()}")

    def write_gate(version: Path) -> None:
        write_atomic(version / GATE, json.dumps(decision.to_dict(), indent=2))

    artifacts = write_artifacts(
        options, encoder, path, [*writers, write_gate], store=store, promote=False
    )
    version = artifacts.manifest.version
    outcome = RetrainOutcome(since, version, path, result, warm, decision, artifacts)
    if decision.promote:
        try:
            outcome.pruned = versions.promote(
                version,
                f"kgrec train --since {since}: {decision.reason}",
                over=since,
                then=lambda _: make_latest_checkpoint(path),  # under the lock: no rollback between
            )
        except LatestMovedError as e:  # a promotion or rollback landed while this one wrote
            outcome.decision = decision = _not_promoted(decision, str(e))
            write_gate(versions.path(version))
    if not decision.promote:
        log.warning("artifact version %s is not promoted: %s", version, decision.reason)
    return outcome


def _not_promoted(decision: GateDecision, why: str) -> GateDecision:
    """``decision`` turned down: the gate compared with a version LATEST no longer names."""
    return replace(decision, promote=False, forced=False, reason=f"{decision.reason}; but {why}")


def _gate(
    options: PipelineOptions,
    since: str,
    known: torch.Tensor,
    previous: Checkpoint | None,
    checkpoint: Checkpoint,
    snapshot: Snapshot,
    plan: SplitPlan,
    warm: WarmStart,
    force: bool,
) -> GateDecision:
    """Score both versions on :func:`gate_views` and decide."""
    device = options.device
    views = gate_views(plan, known)
    candidate = score_checkpoint(checkpoint, snapshot, plan, views, device)
    why_not = (
        f"it holds no {CHECKPOINT}" if previous is None else scorable(previous, snapshot, plan)
    )
    serving: dict[str, float] = {}
    if previous is not None and why_not is None:
        serving = score_checkpoint(previous, snapshot, plan, views, device)
    elif why_not is not None:
        log.warning(
            "the serving version %s cannot be scored on the current graph: %s", since, why_not
        )
    rows = [
        GateRow(
            name,
            len(view.test_users),
            int(view.test.shape[1]),
            _finite(serving.get(name)),
            _finite(candidate[name]) or 0.0,
        )
        for name, view in views.items()
    ]
    promote, forced, reason = decide(rows, options.promote_tolerance, force)
    if why_not is not None:
        reason = f"{reason} ({why_not})"
    return GateDecision(
        since,
        options.promote_tolerance,
        rows,
        promote,
        forced,
        reason,
        ("yes: " if warm.state is not None else "no: ") + warm.reason,
    )


def _finite(value: float | None) -> float | None:
    """``value``, None when it is None or NaN (a view without scoreable users)."""
    return None if value is None or math.isnan(value) else value
