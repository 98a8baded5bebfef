"""``kgrec train`` and ``kgrec embed`` (``kgrec evaluate`` lives in api/cli/evaluate.py)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import typer

from api.cli._app import app, settings_of
from graph import GraphStore, open_graph
from kgrec.errors import GraphConnectionError
from kgrec.settings import Settings

if TYPE_CHECKING:
    from gnn.snapshot import Snapshot
    from text_encoders import TextEncoder


@app.command("train")
def train(ctx: typer.Context) -> None:
    """Export the graph to a snapshot, train the GNN on it (KGREC_GNN_*), then fit the
    candidate generators and train the learned ranker on held-out interactions
    (KGREC_RANKER=false skips the ranker)."""
    # heavy (torch, PyG, transformers): imported when the command runs
    from text_encoders import load_encoder

    settings = settings_of(ctx)
    encoder = load_encoder(settings)
    with open_graph(settings) as store:
        train_and_report(settings, store, encoder)


def train_and_report(
    settings: Settings,
    store: GraphStore,
    encoder: TextEncoder,
    snapshot: Snapshot | None = None,
) -> None:
    """Export (unless ``snapshot`` is the export already), train, print each epoch and a
    summary (``kgrec train`` and ``kgrec demo``)."""
    from gnn.pipeline import export_current, train_snapshot

    start = time.perf_counter()
    if snapshot is None:
        snapshot = export_current(settings, store, encoder)
    _, result, path = train_snapshot(settings, snapshot)
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
def embed(ctx: typer.Context) -> None:
    """Embed every product and user with the latest checkpoint; write an artifact version.

    The training snapshot's products and users, plus those the graph holds and the
    snapshot lacks (added since: online, or by a later import), embedded inductively.
    Without the graph, the snapshot's alone (with a warning).
    """
    # heavy (torch, PyG, transformers): imported when the command runs
    from text_encoders import load_encoder

    settings = settings_of(ctx)
    encoder = load_encoder(settings)
    try:
        with open_graph(settings) as store:
            embed_and_report(settings, encoder, store)
            return
    except GraphConnectionError as e:
        typer.echo(
            f"warning: the graph does not answer ({e}); the version holds only the training "
            "snapshot's products and users, not those added since",
            err=True,
        )
    embed_and_report(settings, encoder)


def embed_and_report(
    settings: Settings, encoder: TextEncoder, store: GraphStore | None = None
) -> None:
    """Write an artifact version and print where (``kgrec embed`` and ``kgrec demo``).

    With ``store``, the products and users the graph holds and the training snapshot
    lacks are in it too.
    """
    from api.index import index_writer
    from gnn.pipeline import write_artifacts

    start = time.perf_counter()
    artifacts = write_artifacts(settings, encoder, writers=[index_writer(settings)], store=store)
    m = artifacts.manifest
    typer.echo(
        f"artifacts {artifacts.path}: {m.num_products:,} products, {m.num_users:,} users, "
        f"graph dim {m.graph_dim}, text dim {m.text_dim} in {time.perf_counter() - start:.1f} s"
    )
