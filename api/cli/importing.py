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
    ImportFailed,
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
from loaders.dialect import parse_delimiter
from loaders.generator import FileFormat

dataset_app = typer.Typer(help="Public datasets (fetched once into the data directory).")
app.add_typer(dataset_app, name="dataset")

FileOpt = Annotated[Path | None, typer.Option(exists=True, dir_okay=False, readable=True)]

MAPPING_HELP = """\
Mapping file (--mapping m.toml): one optional TOML table per file kind,
\\[products] \\[brands] \\[categories] \\[users] \\[interactions] \\[kg] \\[kg_links]:
\b
  \\[products]
  rename = { sku = "id", name = "title", "Avg Stars" = "avg_stars" }
  keep = ["color", "avg_stars"]     # extra columns kept as properties
  ignore = ["internal_note"]        # extra columns dropped on purpose
  types = { avg_stars = "float" }   # str, int, float or bool
  encoding = "cp1252"               # default utf-8
  delimiter = ";"                   # default: detected on the header
  category_separator = " / "        # in category_path; default " > "
  list_separator = "|"              # in category_ids and several paths
  \\[interactions]
  kinds = { add_to_cart = "cart", order = "purchase" }

keep, ignore and types name a column by its name in the file or its new
name (quote names with spaces). A mapping that names a column the file
lacks is an error before anything is written. Without keep, every column
that is not a field is kept as a property; with keep, the others are
listed as ignored. --encoding and --delimiter apply to every file and win
over the mapping.

Updates merge: a re-import sets the columns the file has (an empty cell
removes that property) and leaves the properties of columns it lacks;
--replace makes each node hold exactly its row's values. Exit status:
0 every row accepted, 3 rows rejected (see the rejects file), 1 an error
(the summary says what was written before it; with --strict nothing was).
"""


def _echo_report(report: ImportReport) -> None:
    for message in report.messages:
        typer.echo(message)
    for line in report.summary_lines():
        typer.echo(line)


@app.command("import", epilog=MAPPING_HELP)
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
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="TOML column mapping (format below)."),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(help="Text encoding of every file (default utf-8), e.g. cp1252, latin-1."),
    ] = None,
    delimiter: Annotated[
        str | None,
        typer.Option(help="CSV delimiter of every file, e.g. ';' or '\\t' (default: detected)."),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Remove properties the file does not carry (default: keep them, merge).",
        ),
    ] = False,
    rejects: Annotated[
        Path | None, typer.Option(help="Rejects CSV (default under the data directory).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate, write nothing.")] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Write nothing when any row is rejected, an error occurs, or a column is "
            "neither a field nor kept.",
        ),
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
    """Import catalogue files (CSV, JSONL, Parquet) or a dataset into the graph."""
    settings = settings_of(ctx)
    sep = None if delimiter is None else parse_delimiter(delimiter, where="--delimiter")
    files: dict[EntityKind, Path | None] = {
        CATEGORIES: categories,
        BRANDS: brands,
        PRODUCTS: products,
        USERS: users,
        INTERACTIONS: interactions,
        KG: kg,
        KG_LINKS: kg_link,
    }
    sources = [
        Source.from_file(e, p, settings, encoding=encoding, delimiter=sep)
        for e, p in files.items()
        if p is not None
    ]
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
            replace=replace,
            rejects=rejects,
            progress=progress,
        )
        try:
            report = importer.run(sources)
        except ImportFailed as e:
            _echo_report(e.report)  # what was written before the error, then the error
            raise
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
