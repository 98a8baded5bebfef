"""What ``kgrec demo`` runs on: MovieLens-100K (or a slice of it) or the shipped sample.

A :class:`DemoData` names the files to import, a fingerprint of their content
(so a second run can tell the graph already holds them), the shopper and query
the demo shows, the product it adds online and its Cypher exploration.

A slice (``kgrec demo --limit-users N``, for tests) keeps MovieLens users 1..N,
their ratings, the films they rated, those films' knowledge-graph links and the
triples that touch them, written as RecBole atomic files under
``<data_dir>/demo/`` and imported through the same preset as the whole dataset.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Final

from kgrec.loaders import PublicDataset, RecboleDataset, RecbolePreset, Source
from kgrec.loaders.constants import BRANDS, CATEGORIES, INTERACTIONS, PRODUCTS, USERS, EntityKind

MOVIELENS: Final = "ml-100k"
NEWCOMER: Final = "demo-newcomer"
"""The shopper the demo creates with ``PUT /users/{id}`` (deleted when the demo ends)."""
SAMPLE: Final = "sample"
_CHUNK_BYTES = 1 << 20

CypherQuery = tuple[str, str]
"""(title, Cypher); ``$shopper`` is the demo's known shopper."""


@dataclass(frozen=True)
class NewProduct:
    """The product the demo adds through ``POST /items`` (removed again at the end)."""

    id: str
    title: str
    description: str
    category_ids: tuple[str, ...]
    price: float | None = None

    def body(self) -> dict[str, object]:
        """The ``POST /items`` body."""
        item: dict[str, object] = {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "category_ids": list(self.category_ids),
        }
        if self.price is not None:
            item["price"] = self.price
        return {"items": [item]}


@dataclass(frozen=True)
class DemoData:
    """One dataset the demo can run on.

    Attributes:
        name: ``ml-100k``, ``ml-100k-users-N`` (a slice) or ``sample``.
        label: how the demo names it to the user.
        files: the files imported, in order (their content is the fingerprint).
        shopper: a known shopper (their top 10 is shown).
        query: the new shopper's query; the added product answers it.
        category_query: the known shopper's query naming one of the categories.
        new_product: what ``POST /items`` adds.
        queries: the Cypher exploration.
        declared: what the demo's newcomer (:data:`NEWCOMER`) declares with
            ``PUT /users/{id}`` (attributes the dataset's shoppers declare too).
        batch_size: a KGREC_GNN__BATCH_SIZE for this data (the sample is tiny), or None.
    """

    name: str
    label: str
    files: tuple[Path, ...]
    shopper: str
    query: str
    category_query: str
    new_product: NewProduct
    queries: tuple[CypherQuery, ...]
    declared: Mapping[str, str | int] = field(default_factory=dict)
    recbole: Path | None = None
    batch_size: int | None = None

    def sources(self, chunk_rows: int) -> list[Source]:
        """The import sources of the files, read ``chunk_rows`` rows at a time."""
        if self.recbole is not None:
            preset = RecbolePreset.named(MOVIELENS)
            return RecboleDataset(self.recbole, preset, chunk_rows).sources()
        kinds: tuple[EntityKind, ...] = (CATEGORIES, BRANDS, PRODUCTS, USERS, INTERACTIONS)
        by_stem = {p.stem: p for p in self.files}
        return [Source.from_file(e, by_stem[e], chunk_rows) for e in kinds if e in by_stem]

    def fingerprint(self) -> str:
        """sha256 over the name and every file's bytes: the same files give the same value."""
        digest = hashlib.sha256(self.name.encode())
        for path in self.files:
            digest.update(path.name.encode())
            with path.open("rb") as f:
                while block := f.read(_CHUNK_BYTES):
                    digest.update(block)
        return digest.hexdigest()


MOVIELENS_QUERIES: Final[tuple[CypherQuery, ...]] = (
    (
        "What the graph holds",
        "MATCH (n) RETURN labels(n)[0] AS label, count(*) AS nodes ORDER BY nodes DESC",
    ),
    (
        "Films shopper $shopper rated 5",
        "MATCH (:User {id: $shopper})-[r:INTERACTED]->(p:Product) WHERE r.value >= 5 "
        "OPTIONAL MATCH (p)-[:IN_CATEGORY]->(c:Category) "
        "RETURN p.title AS film, p.year AS year, collect(DISTINCT c.name) AS genres "
        "ORDER BY year DESC, film LIMIT 8",
    ),
    (
        "The most rated films",
        "MATCH (:User)-[r:INTERACTED]->(p:Product) "
        "RETURN p.title AS film, count(r) AS ratings, avg(r.value) AS mean_rating "
        "ORDER BY ratings DESC, film LIMIT 5",
    ),
    (
        "Knowledge-graph links of films, by relation",
        "MATCH (:Product)-[h:HAS_ENTITY]->(e:Entity) "
        "RETURN h.relation AS relation, e.kind AS kind, count(*) AS links "
        "ORDER BY links DESC LIMIT 8",
    ),
)

SAMPLE_QUERIES: Final[tuple[CypherQuery, ...]] = (
    (
        "What the graph holds",
        "MATCH (n) RETURN labels(n)[0] AS label, count(*) AS nodes ORDER BY nodes DESC",
    ),
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
)

_NEW_FILM = NewProduct(
    id="demo-new-film",
    title="Fossil Island (2025)",
    description="A family adventure on an island where dinosaurs come back to life. "
    "Adventure, Children's",
    category_ids=("Adventure", "Children's"),
)
_NEW_SAMPLE_PRODUCT = NewProduct(
    id="demo-new-gaiters",
    title="Trail gaiters",
    description="Waterproof gaiters for muddy trail runs",
    category_ids=("trail-shoes",),
    price=25.0,
)


def sample_dir() -> Path:
    """The small sample catalogue shipped with kgrec."""
    return Path(str(resources.files("kgrec.loaders") / "sample"))


def shipped_sample() -> DemoData:
    """The 17-product sample (fast: seconds to train)."""
    directory = sample_dir()
    stems = (CATEGORIES, BRANDS, PRODUCTS, USERS, INTERACTIONS)
    return DemoData(
        name=SAMPLE,
        label="the shipped sample (17 products, 20 shoppers, 200 interactions)",
        files=tuple(directory / f"{s}.csv" for s in stems),
        shopper="u15",
        query="waterproof trail running shoes",
        category_query="coffee machines",
        new_product=_NEW_SAMPLE_PRODUCT,
        queries=SAMPLE_QUERIES,
        declared={"country": "DE", "segment": "audiophile"},
        batch_size=32,  # 200 interactions: small BPR batches give enough steps per epoch
    )


def movielens(datasets: Path, demo_dir: Path, limit_users: int | None = None) -> DemoData:
    """MovieLens-100K with its knowledge graph (fetched when missing), or users 1..N of it.

    Args:
        datasets: the datasets directory the dataset is fetched into.
        demo_dir: the demo's directory (``<data_dir>/demo``), where a slice is written.
        limit_users: keep users 1..N (None = the whole dataset).

    Raises:
        DatasetError: the fetch failed.
    """
    public = PublicDataset.named(MOVIELENS)
    directory = public.fetch(datasets)
    name, label = MOVIELENS, "MovieLens-100K with its knowledge graph"
    if limit_users is not None:
        name = f"{MOVIELENS}-users-{limit_users}"
        label = f"a slice of MovieLens-100K: users 1..{limit_users}, the films they rated"
        directory = write_slice(directory, demo_dir / name, limit_users)
    return DemoData(
        name=name,
        label=label,
        files=tuple(directory / f for f in public.files),
        shopper="1",
        query="dinosaurs come back to life on an island",
        category_query="westerns",
        new_product=_NEW_FILM,
        queries=MOVIELENS_QUERIES,
        declared={"age": 24, "gender": "F", "occupation": "student"},
        recbole=directory,
    )


def _rows(path: Path) -> Iterator[list[str]]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            yield line.rstrip("\n").split("\t")


def _table(path: Path) -> tuple[list[str], Iterator[list[str]]]:
    """The header of a tab-separated atomic file and an iterator over its other rows."""
    rows = _rows(path)
    return next(rows), rows


def _write(path: Path, header: list[str], rows: Iterable[list[str]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write("\t".join(header) + "\n")
        for row in rows:
            f.write("\t".join(row) + "\n")


def write_slice(source: Path, target: Path, users: int) -> Path:
    """Write users 1..``users`` of the MovieLens atomic files in ``source`` to ``target``.

    Kept: those users and their ratings, the films they rated, those films' links to
    knowledge-graph entities and every triple with such an entity at one end. Lines
    are copied unchanged. Nothing is written when ``target`` holds the slice already.
    """
    stem = MOVIELENS
    done = target / ".complete"
    if done.is_file():
        return target
    target.mkdir(parents=True, exist_ok=True)
    user_header, user_rows = _table(source / f"{stem}.user")
    kept_users = [r for r in user_rows if r[0].isdigit() and int(r[0]) <= users]
    user_ids = {r[0] for r in kept_users}
    inter_header, inter_rows = _table(source / f"{stem}.inter")
    ratings = [r for r in inter_rows if r[0] in user_ids]
    items = {r[1] for r in ratings}
    item_header, item_rows = _table(source / f"{stem}.item")
    link_header, link_rows = _table(source / f"{stem}.link")
    links = [r for r in link_rows if r[0] in items]
    entities = {r[1] for r in links}
    kg_header, kg_rows = _table(source / f"{stem}.kg")
    _write(target / f"{stem}.user", user_header, kept_users)
    _write(target / f"{stem}.inter", inter_header, ratings)
    _write(target / f"{stem}.item", item_header, (r for r in item_rows if r[0] in items))
    _write(target / f"{stem}.link", link_header, links)
    _write(
        target / f"{stem}.kg",
        kg_header,
        (r for r in kg_rows if r[0] in entities or r[2] in entities),
    )
    done.touch()
    return target
