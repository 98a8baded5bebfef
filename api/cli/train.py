"""``kgrec train`` and ``kgrec embed`` (``kgrec evaluate`` lives in api/cli/evaluate.py)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kgrec.api.cli._app import app, settings_of
from kgrec.api.cli.tables import table
from kgrec.errors import ConfigError, GraphConnectionError
from kgrec.graph import GraphStore, open_graph
from kgrec.settings import Settings

if TYPE_CHECKING:
    from kgrec.gnn.retrain import GateDecision
    from kgrec.gnn.snapshot import Snapshot
    from kgrec.text_encoders import TextEncoder


@app.command("train")
def train(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(
            help="Retrain from this artifact version (LATEST: the promoted one): warm-start "
            "from its checkpoint when the model's shape allows, embed into a new version, "
            "and promote it only when its validation Recall@20 is not worse than this "
            "version's beyond KGREC_ARTIFACTS__PROMOTE_TOLERANCE.",
            metavar="VERSION",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="With --since: promote whatever the gate finds.")
    ] = False,
) -> None:
    """Export the graph to a snapshot, train the GNN on it, then the learned ranker.

    The GNN is shaped by KGREC_GNN_*. The candidate generators are fitted and the
    learned ranker trained on held-out interactions (KGREC_SERVING__RANKER=false skips the
    ranker).

    With --since VERSION, also embed and promote behind a gate (docs/retraining.md);
    the table compares both versions per validation view.
    """
    # heavy (torch, PyG, transformers): imported when the command runs
    from kgrec.text_encoders import load_encoder

    if force and since is None:
        raise ConfigError("--force only applies with --since VERSION")
    settings = settings_of(ctx)
    encoder = load_encoder(settings.text, settings.paths.onnx_models)
    with open_graph(settings.graph, settings.data_dir) as store:
        if since is None:
            train_and_report(settings, store, encoder)
        else:
            retrain_and_report(settings, store, encoder, since, force)


def retrain_and_report(
    settings: Settings, store: GraphStore, encoder: TextEncoder, since: str, force: bool
) -> None:
    """``kgrec train --since``: retrain behind the promotion gate, print the gate's table."""
    from kgrec.api.wiring import pipeline_options, version_writers
    from kgrec.gnn.retrain import retrain

    start = time.perf_counter()
    options = pipeline_options(settings)
    writers = version_writers(settings)
    out = retrain(options, store, encoder, since, force=force, writers=writers)
    typer.echo(out.result.summary())
    typer.echo(gate_report(out.decision, out.version, out.pruned))
    typer.echo(f"total {time.perf_counter() - start:.0f} s")


def gate_report(decision: GateDecision, version: str, pruned: Sequence[str] = ()) -> str:
    """Format the promotion gate's outcome for the terminal.

    Its table (serving and new figure per view), its decision, and what became of
    ``version``.
    """
    d = decision
    rows = [
        [
            r.view,
            r.users,
            r.pairs,
            r.serving,
            r.candidate,
            "" if r.change is None else f"{r.change:+.1%}",
        ]
        for r in d.rows
    ]
    header = ["view", "users", "pairs", f"serving {d.serving_version}", f"new {version}", "change"]
    lines = [
        f"warm start: {d.warm_start}",
        "",
        f"gate ({d.metric}, tolerance {d.tolerance:g}): {d.serving_version} -> {version}",
        table(header, rows, digits=4),
        d.reason,
        f"artifact version {version}: "
        + ("promoted (LATEST)" if d.promote else "kept, not promoted"),
    ]
    if pruned:
        lines.append(f"pruned: {', '.join(pruned)}")
    if not d.promote:
        lines.append(f"promote it anyway with `kgrec artifacts promote {version}`")
    return "\n".join(lines)


def train_and_report(
    settings: Settings,
    store: GraphStore,
    encoder: TextEncoder,
    snapshot: Snapshot | None = None,
) -> None:
    """Export and train, printing each epoch and a summary.

    The export is skipped when ``snapshot`` is the export already. Used by ``kgrec
    train`` and ``kgrec demo``.
    """
    from kgrec.api.wiring import pipeline_options
    from kgrec.gnn.pipeline import export_current, train_snapshot

    start = time.perf_counter()
    options = pipeline_options(settings)
    if snapshot is None:
        snapshot = export_current(options, store, encoder)
    _, result, path = train_snapshot(options, snapshot)
    for row, seconds in zip(result.history, result.epoch_seconds, strict=True):
        metric = f", val Recall@20 {row['recall@20']:.4f}" if "recall@20" in row else ""
        typer.echo(
            f"epoch {int(row['epoch']) + 1}: {seconds:.1f} s, loss {row['loss']:.4f}{metric}"
        )
    typer.echo(result.summary())
    typer.echo(
        f"checkpoint {path} (snapshot {snapshot.version}, encoder {encoder.model_id}); "
        f"total {time.perf_counter() - start:.0f} s with export"
    )


@app.command("embed")
def embed(
    ctx: typer.Context,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            help="Embed with the model file at this path instead of the data directory's "
            "checkpoints/latest.pt: one `kgrec train` saved as checkpoints/<snapshot>.pt (its "
            "ranker, <snapshot>.ranking/ beside it, comes with it) or an artifact version's "
            "checkpoint.pt (with the version's ranker). Once promoted, it is the latest model.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Embed every product and user with the latest checkpoint; write an artifact version.

    The training snapshot's products and users, plus those the graph holds and the
    snapshot lacks (added since: online, or by a later import), embedded inductively.
    Without the graph, the snapshot's alone (with a warning).
    """
    # heavy (torch, PyG, transformers): imported when the command runs
    from kgrec.text_encoders import load_encoder

    settings = settings_of(ctx)
    encoder = load_encoder(settings.text, settings.paths.onnx_models)
    try:
        with open_graph(settings.graph, settings.data_dir) as store:
            embed_and_report(settings, encoder, store, checkpoint)
            return
    except GraphConnectionError as e:
        typer.echo(
            f"warning: the graph does not answer ({e}); the version holds only the training "
            "snapshot's products and users, not those added since",
            err=True,
        )
    embed_and_report(settings, encoder, checkpoint=checkpoint)


def embed_and_report(
    settings: Settings,
    encoder: TextEncoder,
    store: GraphStore | None = None,
    checkpoint: Path | None = None,
) -> None:
    """Write an artifact version and print where (``kgrec embed`` and ``kgrec demo``).

    With ``store``, the products and users the graph holds and the training snapshot
    lacks are in it too; ``checkpoint`` is the model (None: the latest).
    """
    from kgrec.api.wiring import pipeline_options, version_writers
    from kgrec.gnn.pipeline import write_artifacts

    start = time.perf_counter()
    options = pipeline_options(settings)
    writers = version_writers(settings)
    artifacts = write_artifacts(options, encoder, checkpoint, writers=writers, store=store)
    m = artifacts.manifest
    typer.echo(
        f"artifacts {artifacts.path}: {m.num_products:,} products, {m.num_users:,} users, "
        f"graph dim {m.graph_dim}, text dim {m.text_dim} in {time.perf_counter() - start:.1f} s"
    )
