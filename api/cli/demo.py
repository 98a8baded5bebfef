"""``kgrec demo``: the main job on the embedded default, end to end on a shipped sample."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import typer

from api.cli._app import app, settings_of
from api.cli.train import embed_and_report, train_and_report
from api.demo_calls import run_demo_calls
from graph import GraphStore, open_graph
from loaders import Importer, ImportReport, Source
from loaders.constants import BRANDS, CATEGORIES, INTERACTIONS, PRODUCTS, USERS, EntityKind

DEMO_BATCH_SIZE = 32

DEMO_QUERIES: tuple[tuple[str, str], ...] = (
    ("Node counts per label", "MATCH (n) RETURN labels(n)[0] AS label, count(*) AS nodes"),
    (
        "Category tree",
        "MATCH (c:Category)-[:SUBCATEGORY_OF]->(p:Category) "
        "RETURN c.name AS category, p.name AS parent ORDER BY parent, category",
    ),
    (
        "Most purchased products",
        "MATCH (:User)-[i:INTERACTED {kind: 'purchase'}]->(p:Product)-[:HAS_BRAND]->(b:Brand) "
        "RETURN p.title AS product, b.name AS brand, count(i) AS purchases "
        "ORDER BY purchases DESC, product LIMIT 5",
    ),
    (
        "Products in Footwear or below",
        "MATCH (p:Product)-[:IN_CATEGORY]->(:Category)-[:SUBCATEGORY_OF*0..3]->"
        "(:Category {id: 'footwear'}) RETURN p.id AS id, p.title AS title ORDER BY id",
    ),
)


def sample_dir() -> Path:
    """The small sample catalogue shipped with kgrec."""
    return Path(str(resources.files("loaders") / "sample"))


def load_sample(store: GraphStore, directory: Path) -> ImportReport:
    """Import the shipped sample catalogue (categories, brands, products, users, events)."""
    settings = store.settings
    entities: tuple[EntityKind, ...] = (CATEGORIES, BRANDS, PRODUCTS, USERS, INTERACTIONS)
    sources = [Source.from_file(e, directory / f"{e}.csv", settings) for e in entities]
    return Importer(store, settings, progress=False).run(sources)


@app.command("demo")
def demo(ctx: typer.Context) -> None:
    """The main job on the sample: graph, import, Cypher, GNN training, artifacts, API calls."""
    settings = settings_of(ctx)
    where = "embedded ArcadeDB server" if settings.embedded else settings.neo4j_uri
    typer.echo(f"kgrec demo on the {where} (data directory {settings.data_dir})")
    with open_graph(settings) as store:
        report = load_sample(store, sample_dir())
        for line in report.summary_lines():
            typer.echo(line)
        for title, query in DEMO_QUERIES:
            typer.secho(f"\n== {title}\n{query}", bold=True)
            typer.echo(store.cypher(query).to_string(index=False))
        nodes, rels = store.count_nodes(), store.count_relationships()
        typer.echo(
            f"\n{sum(nodes.values())} nodes, {sum(rels.values())} relationships in the graph"
        )
        # 200 interactions: small BPR batches give the model enough steps per epoch
        small = settings.model_copy(update={"gnn_batch_size": DEMO_BATCH_SIZE})
        typer.secho(
            f"\n== kgrec train (KGREC_GNN_BATCH_SIZE={DEMO_BATCH_SIZE} for the sample)", bold=True
        )
        # heavy (torch, PyG, transformers): imported when the command runs
        from text_encoders import load_encoder

        encoder = load_encoder(settings)
        train_and_report(small, store, encoder)
        typer.secho("\n== kgrec embed", bold=True)
        embed_and_report(small, encoder)
    typer.secho("\n== kgrec serve, one request per endpoint", bold=True)
    run_demo_calls(settings)  # start the service, call each endpoint once, stop
    typer.echo("\ndemo done")
