"""``kgrec demo``: the whole job on MovieLens-100K (or the shipped sample), end to end.

Graph and import, a Cypher exploration, training and artifacts, then the running
service's answers as tables; the graph and the model are reused by a second run
when their inputs did not change (:mod:`kgrec.api.demo_state`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from kgrec.api.cli._app import app, settings_of
from kgrec.api.cli.tables import frame_table, table
from kgrec.api.cli.train import embed_and_report, train_and_report
from kgrec.api.demo_data import (
    MOVIELENS,
    NEWCOMER,
    DemoData,
    movielens,
    sample_dir,
    shipped_sample,
)
from kgrec.api.demo_state import (
    DemoState,
    checkpoint_identity,
    graph_counts,
    model_reusable,
    training_fingerprint,
)
from kgrec.errors import ConfigError, invalid_choice
from kgrec.gnn.config import GNNConfig
from kgrec.graph import GraphStore, open_graph
from kgrec.graph.cleanup import delete_products
from kgrec.loaders import Importer, ImportReport, Source, validation_options
from kgrec.loaders.constants import BRANDS, CATEGORIES, INTERACTIONS, PRODUCTS, USERS, EntityKind
from kgrec.pseudonym import Pseudonymiser
from kgrec.settings import Settings

__all__ = ["load_sample", "sample_dir"]

MOVIELENS_GNN: dict[str, Any] = {"epochs": 8, "patience": 2}
"""GNN settings of the demo on MovieLens-100K (a KGREC_GNN__* value other than the default wins):
fewer epochs than the default 30, to stay within the demo's ten minutes on 2 cores."""


def load_sample(store: GraphStore, directory: Path, settings: Settings) -> ImportReport:
    """Import the shipped sample catalogue (categories, brands, products, users, events)."""
    entities: tuple[EntityKind, ...] = (CATEGORIES, BRANDS, PRODUCTS, USERS, INTERACTIONS)
    chunk_rows = settings.loaders.import_chunk_rows
    sources = [Source.from_file(e, directory / f"{e}.csv", chunk_rows) for e in entities]
    options = validation_options(settings.loaders)
    return Importer(store, options, data_dir=settings.data_dir, progress=False).run(sources)


@dataclass
class Timings:
    """Seconds per demo step, and whether the step's work was reused."""

    steps: list[tuple[str, float, str]] = field(default_factory=list)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[list[str]]:
        """Time the block; the list it yields takes a note (``reused``)."""
        note: list[str] = []
        start = time.perf_counter()
        try:
            yield note
        finally:
            self.steps.append((name, time.perf_counter() - start, " ".join(note)))

    def lines(self, total: float) -> str:
        """The steps and the total as a table."""
        rows: list[list[Any]] = [[n, round(s, 1), note] for n, s, note in self.steps]
        rows.append(["total", round(total, 1), ""])
        return table(("step", "seconds", "note"), rows, digits=1)


def _at_least_one(value: int | None) -> int | None:
    """A count option's value, refused below 1 (kept out of the help's type column)."""
    if value is not None and value < 1:
        raise typer.BadParameter(f"{value} is not a valid count; give 1 or more")
    return value


def _demo_settings(settings: Settings, data: DemoData) -> Settings:
    """The demo's training settings for ``data``, where no KGREC_GNN__* variable changed them."""
    wanted: dict[str, Any] = (
        {"batch_size": data.batch_size} if data.batch_size else dict(MOVIELENS_GNN)
    )
    default = GNNConfig()
    update = {k: v for k, v in wanted.items() if getattr(settings.gnn, k) == getattr(default, k)}
    return settings.updated(gnn=update) if update else settings


def _remove_online_writes(store: GraphStore, data: DemoData, settings: Settings) -> None:
    """Delete what the demo writes through the API: its product and its newcomer."""
    delete_products(store, [data.new_product.id])
    store.delete_user(Pseudonymiser.from_salt(settings.pseudonymise_salt)(NEWCOMER))


def _prepare_graph(store: GraphStore, settings: Settings, data: DemoData, fresh: bool) -> bool:
    """Import ``data`` unless the graph holds it unchanged; True when it was reused."""
    _remove_online_writes(store, data, settings)  # left by an interrupted run
    fingerprint = data.fingerprint()
    nodes, rels = graph_counts(store)
    state = DemoState.load(settings.data_dir)
    if not fresh and state is not None and state.holds(data.name, fingerprint, nodes, rels):
        typer.echo(
            f"graph: reused, it holds {data.name} unchanged ({sum(nodes.values()):,} nodes, "
            f"{sum(rels.values()):,} relationships)"
        )
        return True
    if sum(nodes.values()):
        if not fresh and (state is None or not state.owns(nodes, rels)):
            held = sum(nodes.values())
            raise ConfigError(
                f"the graph in {settings.data_dir} holds {held:,} node{'s' if held != 1 else ''} "
                "the demo did not import; run the demo on its own data directory "
                "(KGREC_DATA_DIR=/tmp/kgrec-demo kgrec demo), or `kgrec demo --fresh` to "
                "delete the graph's contents first"
            )
        typer.echo("graph: deleting what it holds (an earlier demo's import, or --fresh)")
        store.delete_all()
    typer.echo(f"importing {data.label}")
    pseudonymise = Pseudonymiser.from_salt(settings.pseudonymise_salt)
    importer = Importer(
        store,
        validation_options(settings.loaders),
        data_dir=settings.data_dir,
        pseudonymise=pseudonymise,
    )
    report = importer.run(data.sources(settings.loaders.import_chunk_rows))
    for line in report.summary_lines():
        typer.echo(line)
    nodes, rels = graph_counts(store)
    previous = state or DemoState()
    DemoState(
        dataset=data.name,
        fingerprint=fingerprint,
        nodes=nodes,
        relationships=rels,
        training=previous.training,
        checkpoint=previous.checkpoint,
    ).save(settings.data_dir)
    return False


def _explore(store: GraphStore, data: DemoData) -> None:
    """Print the dataset's Cypher exploration, each result as a table."""
    for title, query in data.queries:
        typer.secho(f"\n== {title.replace('$shopper', data.shopper)}", bold=True)
        typer.echo(f"$ kgrec cypher {query!r}")
        params = {"shopper": data.shopper} if "$shopper" in query else None
        typer.echo(frame_table(store.cypher(query, params)))


def _prepare_model(
    settings: Settings, store: GraphStore, graph_reused: bool, timings: Timings
) -> None:
    """Train and embed, unless the latest checkpoint and artifacts fit the graph."""
    training = training_fingerprint(
        settings.gnn, ranker=settings.serving.ranker, text_model=settings.text.model
    )
    state = DemoState.load(settings.data_dir) or DemoState()
    if graph_reused and model_reusable(settings.data_dir, state.snapshot_version, training):
        with timings.step("train + embed") as note:
            note.append("reused")
        typer.echo(
            f"train + embed: reused the checkpoint and artifact version of snapshot "
            f"{state.snapshot_version} (graph and training settings unchanged)"
        )
        return
    # heavy (torch, PyG, transformers): imported when the step runs
    from kgrec.api.wiring import pipeline_options
    from kgrec.gnn.pipeline import export_current
    from kgrec.text_encoders import load_encoder

    with timings.step("train") as note:
        typer.secho("\n== kgrec train", bold=True)
        encoder = load_encoder(settings.text, settings.paths.onnx_models)
        snapshot = export_current(pipeline_options(settings), store, encoder)
        reused = model_reusable(settings.data_dir, snapshot.version, training)
        if reused:
            note.append("reused (export only)")
            typer.echo(
                f"train + embed: reused, the checkpoint and artifact version were built "
                f"from snapshot {snapshot.version}"
            )
        else:
            train_and_report(settings, store, encoder, snapshot=snapshot)
    if not reused:
        with timings.step("embed"):
            typer.secho("\n== kgrec embed", bold=True)
            embed_and_report(settings, encoder, store)
    state = DemoState.load(settings.data_dir) or state
    state.snapshot_version = snapshot.version
    state.training = training
    state.checkpoint = checkpoint_identity(settings.data_dir)
    state.save(settings.data_dir)


def _serve(settings: Settings, data: DemoData) -> None:
    """Start the service, print the sections, stop it."""
    from kgrec.api.demo_calls import serving
    from kgrec.api.demo_show import (
        add_product,
        declaring_shopper,
        known_shopper,
        new_shopper,
        searching_shopper,
    )

    typer.secho("\n== kgrec serve (in this process, on a free loopback port)", bold=True)
    with serving(settings) as client:
        typer.echo(f"serving on {client.base_url}")
        known_shopper(client, data, typer.echo)
        searching_shopper(client, data, typer.echo)
        new_shopper(client, data, typer.echo)
        declaring_shopper(client, data, typer.echo)
        add_product(client, data, typer.echo)
    typer.echo("service stopped")


@app.command("demo")
def demo(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Option(help="The dataset to run on: ml-100k.")] = MOVIELENS,
    sample: Annotated[
        bool,
        typer.Option(
            "--sample",
            help="Run on the shipped 17-product sample instead (fast; no download).",
        ),
    ] = False,
    evaluate: Annotated[
        bool,
        typer.Option(
            "--evaluate",
            help="Run `kgrec evaluate --seeds 1` before serving (minutes more).",
        ),
    ] = False,
    fresh: Annotated[
        bool,
        typer.Option("--fresh", help="Delete the graph's contents and import again."),
    ] = False,
    limit_users: Annotated[
        int | None,
        typer.Option(
            callback=_at_least_one,
            help="Only MovieLens users 1..N and the films they rated (a quick trial; "
            "the tests use it).",
        ),
    ] = None,
) -> None:
    """Run the whole job on MovieLens-100K with its knowledge graph.

    Start the embedded graph, import, explore with Cypher, train, embed, serve and
    show answers as tables.

    A second run reuses the graph when it holds the dataset unchanged, and the
    checkpoint and artifacts when the graph and the training settings did not change.
    """
    start = time.perf_counter()
    settings = settings_of(ctx)
    if dataset != MOVIELENS:
        raise invalid_choice("dataset", dataset, [MOVIELENS])
    if sample and limit_users is not None:
        raise ConfigError("--limit-users slices MovieLens-100K; it does not apply to --sample")
    data = (
        shipped_sample()
        if sample
        else movielens(settings.dataset_root, settings.paths.demo, limit_users)
    )
    settings = _demo_settings(settings, data)
    where = "embedded ArcadeDB server" if settings.embedded else settings.graph.neo4j_uri
    typer.echo(f"kgrec demo on {data.label}\n{where}, data directory {settings.data_dir}")
    timings = Timings()
    with contextlib.ExitStack() as stack:
        with timings.step("graph + import") as note:
            store = stack.enter_context(open_graph(settings.graph, settings.data_dir))
            stack.callback(_remove_online_writes, store, data, settings)
            graph_reused = _prepare_graph(store, settings, data, fresh)
            if graph_reused:
                note.append("reused")
        with timings.step("explore"):
            _explore(store, data)
        _prepare_model(settings, store, graph_reused, timings)
        if evaluate:
            from kgrec.api.cli.evaluate import evaluate as evaluate_command

            with timings.step("evaluate"):
                typer.secho("\n== kgrec evaluate --seeds 1", bold=True)
                evaluate_command(ctx, seeds=1, epochs=None, protocol="kgrec")
        with timings.step("serve"):
            _serve(settings, data)
    from kgrec.api.demo_show import evaluation_summary

    evaluation_summary(settings.data_dir, typer.echo)
    typer.secho("\n== Timings", bold=True)
    typer.echo(timings.lines(time.perf_counter() - start))
    env = f"KGREC_DATA_DIR={settings.data_dir} " if "data_dir" in settings.model_fields_set else ""
    typer.echo(
        f"\ndemo done; the graph and the artifacts stay in {settings.data_dir}. To look "
        f"around in the web explorer run `{env}kgrec serve`, then open "
        f"http://127.0.0.1:{settings.serving.api_port}/ui/ (API docs at /docs)"
    )
