"""``kgrec evaluate``: GNN and baselines on the split plans of one evaluation protocol."""

from __future__ import annotations

import shlex
import sys
import time
from dataclasses import replace
from typing import Annotated, Literal

import typer

from kgrec.api.cli._app import app, settings_of
from kgrec.errors import ConfigError
from kgrec.graph import open_graph

ProtocolName = Literal["kgrec", "random", "replay"]
"""``kgrec.gnn.protocols.Protocol``, spelled out here so that ``--help`` does not import torch."""


@app.command("evaluate")
def evaluate(
    ctx: typer.Context,
    seeds: Annotated[int, typer.Option(min=1, help="Seeds (split + training) to average.")] = 3,
    epochs: Annotated[
        int | None, typer.Option(min=1, help="GNN epochs (default: the GNN config).")
    ] = None,
    protocol: Annotated[
        ProtocolName,
        typer.Option(
            help="kgrec: warm temporal + cold-item + cold-user@0/1/3 views; "
            "random: per-user random 80/10/10 split; "
            "replay: one global time cut (earliest 80 % train, next 10 % validation, "
            "last 10 % test).",
        ),
    ] = "kgrec",
) -> None:
    """Train and score the GNN and every baseline on the same splits; write reports.

    Writes report.md, report.json and one PNG per split to
    <data_dir>/reports/<time>-<protocol>/ (and a copy of report.md / report.json to
    <data_dir>/reports/report-<protocol>.md / .json), prints the table.
    """
    # heavy (torch, PyG, transformers): imported when the command runs
    from kgrec.gnn.evaluation import run_evaluation
    from kgrec.gnn.report import EvaluationReport
    from kgrec.gnn.snapshot import export_snapshot
    from kgrec.text_encoders import EmbeddingCache, load_encoder

    settings = settings_of(ctx)
    start = time.perf_counter()
    encoder = load_encoder(settings.text, settings.paths.onnx_models)
    cache = EmbeddingCache.in_data_dir(settings.data_dir)
    with open_graph(settings.graph, settings.data_dir) as store:
        snapshot = export_snapshot(store, encoder, cache)
    snapshot.save(settings.paths.snapshot(snapshot.version))
    if not snapshot.ids.get("user") or not snapshot.ids.get("product"):
        raise ConfigError(
            "the graph has no users or products to evaluate on; "
            "run `kgrec import --dataset ml-100k` first"
        )
    config = settings.gnn
    if epochs is not None:
        config = replace(config, epochs=epochs)
    result = run_evaluation(
        snapshot,
        config,
        text_dim=encoder.dim,
        device=settings.resolve_device(),
        seeds=tuple(range(seeds)),
        protocol=protocol,
    )
    command = "kgrec " + shlex.join(sys.argv[1:])
    report = EvaluationReport(result, command=command)
    root = settings.paths.reports
    run_dir = root / f"{time.strftime('%Y%m%d-%H%M%S')}-{protocol}"
    paths = report.write(run_dir)
    for path in paths[:2]:  # report.json, report.md -> report-<protocol>.json / .md
        (root / f"{path.stem}-{protocol}{path.suffix}").write_bytes(path.read_bytes())
    typer.echo(f"protocol {protocol}")
    typer.echo(report.table())
    for line in report.ratio_lines():
        typer.echo(line)
    exposure = report.exposure_lines()
    if exposure:
        typer.echo("what the served answers show (report.md has every method):")
    for line in exposure:
        typer.echo(f"  {line}")
    typer.echo(
        f"evaluated {len(result.runs)} splits x {len(next(iter(result.runs.values())))} methods "
        f"x {seeds} seeds in {time.perf_counter() - start:.0f} s; reports in {run_dir}"
    )
