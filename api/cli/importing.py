"""``kgrec import``, ``kgrec generate`` and ``kgrec dataset fetch``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import app, settings_of
from graph import open_graph
from kgrec.errors import ConfigError
from loaders import (
    CatalogueGenerator,
    ColumnMapping,
    Importer,
    ImportReport,
    PublicDataset,
    RecboleDataset,
    RecbolePreset,
    Source,
)
from loaders.constants import (
    BRANDS,
    CATEGORIES,
    INTERACTIONS,
    KG,
    KG_LINKS,
    PRODUCTS,
    USERS,
    EntityKind,
)
from loaders.generator import FileFormat

dataset_app = typer.Typer(help="Public datasets (fetched once into the data directory).")
app.add_typer(dataset_app, name="dataset")

FileOpt = Annotated[Path | None, typer.Option(exists=True, dir_okay=False, readable=True)]


def _echo_report(report: ImportReport) -> None:
    for message in report.messages:
        typer.echo(message)
    for line in report.summary_lines():
        typer.echo(line)


@app.command("import")
def import_files(
    ctx: typer.Context,
    products: FileOpt = None,
    brands: FileOpt = None,
    categories: FileOpt = None,
    users: FileOpt = None,
    interactions: FileOpt = None,
    kg: Annotated[
        Path | None,
        typer.Option("--kg", exists=True, dir_okay=False, help="Triples head,relation,tail."),
    ] = None,
    kg_link: Annotated[
        Path | None,
        typer.Option(
            "--kg-link", exists=True, dir_okay=False, help="Links product_id,entity_id,relation."
        ),
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="TOML column mapping.")
    ] = None,
    rejects: Annotated[
        Path | None, typer.Option(help="Rejects CSV (default under the data directory).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate, write nothing.")] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Write nothing when any row is rejected.")
    ] = False,
    dataset: Annotated[
        str | None, typer.Option(help="Import a public dataset (ml-100k), fetching it if missing.")
    ] = None,
    recbole: Annotated[
        Path | None,
        typer.Option(exists=True, file_okay=False, help="A RecBole atomic-files directory."),
    ] = None,
    preset: Annotated[str | None, typer.Option(help="RecBole preset (with --recbole).")] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="At most N interactions (--dataset/--recbole).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Import catalogue files (CSV, JSONL, Parquet) or a dataset into the graph.

    Exit status: 0 every row accepted, 3 some rows rejected (see the rejects file).
    """
    settings = settings_of(ctx)
    files: dict[EntityKind, Path | None] = {
        CATEGORIES: categories,
        BRANDS: brands,
        PRODUCTS: products,
        USERS: users,
        INTERACTIONS: interactions,
        KG: kg,
        KG_LINKS: kg_link,
    }
    sources = [Source.from_file(e, p, settings) for e, p in files.items() if p is not None]
    if dataset is not None and recbole is not None:
        raise ConfigError("use either --dataset or --recbole, not both")
    if dataset is not None:
        public = PublicDataset.named(dataset)
        if not public.present(settings):
            typer.echo(f"fetching {dataset} into {public.directory(settings)}")
        directory = public.fetch(settings)
        sources += RecboleDataset(
            directory, RecbolePreset.named(dataset), settings, limit
        ).sources()
    elif recbole is not None:
        if preset is None:
            raise ConfigError("--recbole needs --preset NAME (e.g. --preset ml-100k)")
        sources += RecboleDataset(recbole, RecbolePreset.named(preset), settings, limit).sources()
    elif limit is not None or preset is not None:
        raise ConfigError("--limit and --preset apply to --dataset / --recbole only")
    if not sources:
        raise ConfigError(
            "nothing to import: give at least one of --products --brands --categories --users "
            "--interactions --kg --kg-link --dataset --recbole"
        )
    column_mapping = ColumnMapping.load(mapping) if mapping is not None else None
    with open_graph(settings) as store:
        importer = Importer(
            store,
            settings,
            mapping=column_mapping,
            dry_run=dry_run,
            strict=strict,
            rejects=rejects,
            progress=progress,
        )
        report = importer.run(sources)
    _echo_report(report)
    raise typer.Exit(report.exit_code)


@app.command("generate")
def generate(
    out: Annotated[Path, typer.Option(file_okay=False, help="Directory to write into.")],
    products: int = 1_000,
    users: int = 500,
    interactions: int = 5_000,
    brands: int = 50,
    categories: int = 40,
    zipf: Annotated[float, typer.Option(min=1.01, help="Zipf exponent of popularity.")] = 1.3,
    seed: int = 0,
    fmt: Annotated[str, typer.Option("--format", help="csv, jsonl or parquet.")] = "csv",
) -> None:
    """Write a seeded synthetic catalogue (for benchmarks and trials)."""
    formats: tuple[FileFormat, ...] = ("csv", "jsonl", "parquet")
    if fmt not in formats:
        raise ConfigError(f"--format {fmt!r} is not valid; choose one of: {', '.join(formats)}")
    generator = CatalogueGenerator(
        products=products,
        users=users,
        interactions=interactions,
        brands=brands,
        categories=categories,
        zipf_a=zipf,
        seed=seed,
    )
    chosen = next(f for f in formats if f == fmt)
    for entity, path in generator.write(out, chosen).items():
        typer.echo(f"{entity}: {path}")


@dataset_app.command("fetch")
def fetch(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Dataset name: ml-100k.")],
    force: Annotated[bool, typer.Option(help="Download again even when present.")] = False,
) -> None:
    """Fetch a public dataset into <data_dir>/datasets (hash-checked)."""
    settings = settings_of(ctx)
    public = PublicDataset.named(name)
    directory = public.fetch(settings, force=force)
    typer.echo(f"{name}: {', '.join(public.files)} in {directory}")
