"""``kgrec import``, ``kgrec generate`` and ``kgrec dataset fetch``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from kgrec.api.cli._app import app, settings_of
from kgrec.errors import ConfigError
from kgrec.graph import open_graph
from kgrec.loaders import (
    CatalogueGenerator,
    ColumnMapping,
    Importer,
    ImportFailed,
    ImportReport,
    PublicDataset,
    RecboleDataset,
    RecbolePreset,
    Source,
    validation_options,
)
from kgrec.loaders.constants import (
    BRANDS,
    CATEGORIES,
    INTERACTIONS,
    KG,
    KG_LINKS,
    PRODUCTS,
    USERS,
    EntityKind,
)
from kgrec.loaders.dialect import parse_delimiter
from kgrec.loaders.generator import FileFormat
from kgrec.pseudonym import Pseudonymiser

dataset_app = typer.Typer(help="Public datasets (fetched once into the data directory).")
app.add_typer(dataset_app, name="dataset")

FORMATS = "CSV, JSON Lines (.jsonl) or Parquet"


def _input_file(param: typer.CallbackParam, value: Path | None) -> Path | None:
    """An input file option's value, refused with what to do when it is no readable file."""
    if value is None:
        return None
    mapping = param.name == "mapping"
    what = "the TOML mapping file" if mapping else f"a {FORMATS} file"
    after = (
        "; the format is at the end of `kgrec import --help`"
        if mapping
        else "; `kgrec generate --out DIR` writes a small catalogue to try"
    )
    if not value.exists():
        raise typer.BadParameter(
            f"no file {str(value)!r} (relative paths start at {Path.cwd()}); give the path "
            f"of {what}{after}"
        )
    if value.is_dir():
        raise typer.BadParameter(
            f"{str(value)!r} is a directory; give {what} inside it, e.g. {value / 'products.csv'}"
            if not mapping
            else f"{str(value)!r} is a directory; give the path of {what}"
        )
    try:
        with value.open("rb"):
            pass
    except OSError as e:
        raise typer.BadParameter(
            f"cannot read {str(value)!r} ({e.strerror}); check its permissions"
        ) from e
    return value


def _input_dir(value: Path | None) -> Path | None:
    """A RecBole directory option's value, refused with what to do when it is no directory."""
    if value is None:
        return None
    if not value.is_dir():
        state = "is a file" if value.exists() else "does not exist"
        raise typer.BadParameter(
            f"{str(value)!r} {state} (relative paths start at {Path.cwd()}); give the "
            "directory holding the RecBole atomic files (<name>.inter, <name>.item, ...), "
            "or use --dataset ml-100k to fetch MovieLens-100K"
        )
    return value


def _positive(value: int | None) -> int | None:
    """Check a count option's value: refused when below 1.

    The check is kept out of the option's type column, which would narrow every help
    text of ``kgrec import --help``.
    """
    if value is not None and value < 1:
        raise typer.BadParameter(f"{value} is not a valid count; give 1 or more")
    return value


def _file_option(help_text: str, name: str | None = None) -> Any:
    """A typer option for an input file, checked by :func:`_input_file`."""
    names = (name,) if name else ()
    return typer.Option(*names, help=help_text, callback=_input_file, show_default=False)


ProductsOpt = Annotated[
    Path | None,
    _file_option(
        "Products: id, title; optional description, price, currency, in_stock, "
        "image_url, brand_id, brand_name, category_ids, category_path; other columns "
        "are kept as attributes."
    ),
]
BrandsOpt = Annotated[Path | None, _file_option("Brands: id; optional name.")]
CategoriesOpt = Annotated[
    Path | None,
    _file_option("Categories: id (or path); optional name, parent_id, path."),
]
UsersOpt = Annotated[Path | None, _file_option("Users: id; other columns are kept as attributes.")]
InteractionsOpt = Annotated[
    Path | None,
    _file_option(
        "Interactions: user_id, product_id, kind (view, click, cart, purchase, rate), "
        "ts (epoch seconds or ISO 8601); optional value, weight."
    ),
]

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
    products: ProductsOpt = None,
    brands: BrandsOpt = None,
    categories: CategoriesOpt = None,
    users: UsersOpt = None,
    interactions: InteractionsOpt = None,
    kg: Annotated[
        Path | None,
        _file_option(
            "Knowledge-graph triples: head, relation, tail; optional head_kind, "
            "tail_kind, head_name, tail_name.",
            "--kg",
        ),
    ] = None,
    kg_link: Annotated[
        Path | None,
        _file_option(
            "Links of products to knowledge-graph entities: product_id, entity_id; "
            "optional relation, kind, name.",
            "--kg-link",
        ),
    ] = None,
    mapping: Annotated[Path | None, _file_option("TOML column mapping (format below).")] = None,
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
        typer.Option(help="A RecBole atomic-files directory.", callback=_input_dir),
    ] = None,
    preset: Annotated[
        str | None, typer.Option(help="RecBole preset, e.g. ml-100k (with --recbole).")
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            help="At most N interactions, N >= 1 (with --dataset or --recbole).",
            callback=_positive,
        ),
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
    chunk_rows = settings.loaders.import_chunk_rows
    sources = [
        Source.from_file(e, p, chunk_rows, encoding=encoding, delimiter=sep)
        for e, p in files.items()
        if p is not None
    ]
    if dataset is not None and recbole is not None:
        raise ConfigError("use either --dataset or --recbole, not both")
    if dataset is not None:
        public = PublicDataset.named(dataset)
        if not public.present(settings.dataset_root):
            typer.echo(f"fetching {dataset} into {public.directory(settings.dataset_root)}")
        directory = public.fetch(settings.dataset_root)
        sources += RecboleDataset(
            directory, RecbolePreset.named(dataset), chunk_rows, limit
        ).sources()
    elif recbole is not None:
        if preset is None:
            raise ConfigError("--recbole needs --preset NAME (e.g. --preset ml-100k)")
        sources += RecboleDataset(recbole, RecbolePreset.named(preset), chunk_rows, limit).sources()
    elif limit is not None or preset is not None:
        raise ConfigError("--limit and --preset apply to --dataset / --recbole only")
    if not sources:
        raise ConfigError(
            "nothing to import: give at least one of --products --brands --categories --users "
            "--interactions --kg --kg-link --dataset --recbole"
        )
    column_mapping = ColumnMapping.load(mapping) if mapping is not None else None
    with open_graph(settings.graph, settings.data_dir) as store:
        importer = Importer(
            store,
            validation_options(settings.loaders),
            data_dir=settings.data_dir,
            mapping=column_mapping,
            dry_run=dry_run,
            strict=strict,
            replace=replace,
            rejects=rejects,
            progress=progress,
            pseudonymise=Pseudonymiser.from_salt(settings.pseudonymise_salt),
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
    products: Annotated[int, typer.Option(help="Products to write.")] = 1_000,
    users: Annotated[int, typer.Option(help="Users to write.")] = 500,
    interactions: Annotated[
        int, typer.Option(help="Interactions (view, click, cart, purchase, rate).")
    ] = 5_000,
    brands: Annotated[int, typer.Option(help="Brands to write.")] = 50,
    categories: Annotated[
        int, typer.Option(help="Leaf categories (under 4 roots, 2 levels deep).")
    ] = 40,
    zipf: Annotated[float, typer.Option(min=1.01, help="Zipf exponent of popularity.")] = 1.3,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 0,
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
    directory = public.fetch(settings.dataset_root, force=force)
    typer.echo(f"{name}: {', '.join(public.files)} in {directory}")
