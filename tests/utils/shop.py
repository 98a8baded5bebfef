"""A small shop of known structure: four genres, shoppers who each prefer one.

Every genre has its own category, brand and 24 products whose titles and
descriptions name the genre; every shopper buys mostly in one favourite genre.
So a correct ranking is checkable by eye: a horror fan's recommendations are
horror, a ``horror`` query yields horror titles, and so on.

With ``directors=True`` every genre also has two directors (knowledge-graph
entities, relation ``film.film.directed_by``): a named one directs its even-numbered
products, one without a name (a Freebase-style id, as MovieLens' are) the odd ones.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from fastapi.testclient import TestClient

from kgrec.api.app import create_app
from kgrec.api.engine import Engine
from kgrec.api.wiring import (
    Services,
    engine_options,
    gnn_embedder_factory,
    pipeline_options,
    version_writers,
)
from kgrec.api.written_online import WrittenOnline
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.gnn.pipeline import export_current, train_snapshot, write_artifacts
from kgrec.graph import GraphStore
from kgrec.graph.records import EntityLinkRow, EntityRow, InteractionRow, ProductRow
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder

GENRES = ("horror", "comedy", "scifi", "western")
DIRECTED_BY = "film.film.directed_by"
_WORDS = {
    "horror": ("haunted", "ghost", "zombie", "vampire", "cursed", "slasher"),
    "comedy": ("funny", "laughing", "silly", "goofy", "wedding", "prank"),
    "scifi": ("galactic", "robot", "alien", "starship", "cyborg", "quantum"),
    "western": ("outlaw", "sheriff", "saloon", "cowboy", "frontier", "gunslinger"),
}
_DESCRIBED = {
    "horror": "a horror movie: terror, fear and blood",
    "comedy": "a comedy movie: jokes and laughter",
    "scifi": "a science fiction movie: space and future technology",
    "western": "a western movie: cowboys, horses and the wild west",
}


@dataclass
class Shop:
    """What :func:`load_genre_shop` put in the graph.

    Attributes:
        genre_of: product id -> genre.
        favourite: user id -> the genre the user mostly buys.
        history: user id -> product ids the user interacted with.
        director_of: product id -> its director's entity id (``directors=True`` only).
        director_name: director entity id -> its name (None: the entity has none).
    """

    genre_of: dict[str, str] = field(default_factory=dict)
    favourite: dict[str, str] = field(default_factory=dict)
    history: dict[str, set[str]] = field(default_factory=dict)
    director_of: dict[str, str] = field(default_factory=dict)
    director_name: dict[str, str | None] = field(default_factory=dict)

    def fans(self, genre: str) -> list[str]:
        """Users whose favourite genre is ``genre``."""
        return [u for u, g in self.favourite.items() if g == genre]


def load_genre_shop(
    store: GraphStore,
    *,
    users: int = 80,
    per_genre: int = 24,
    seed: int = 0,
    directors: bool = False,
    declared: bool = False,
) -> Shop:
    """Write the shop into ``store`` (which should be empty) and describe it.

    With ``declared``, each shopper declares its taste (``occupation: <genre> fan``),
    what peer popularity weighs shoppers by.
    """
    rng = np.random.default_rng(seed)
    shop = Shop()
    store.upsert_categories([{"id": f"cat-{g}", "name": g} for g in GENRES])
    store.upsert_brands([{"id": f"studio-{g}", "name": f"{g} studio"} for g in GENRES])
    products: list[ProductRow] = []
    by_genre: dict[str, list[str]] = {g: [] for g in GENRES}
    for g in GENRES:
        for n in range(per_genre):
            pid = f"{g}-{n:02d}"
            word = _WORDS[g][n % len(_WORDS[g])]
            products.append(
                {
                    "id": pid,
                    "title": f"The {word} {g} {n}",
                    "description": f"{word.title()} {n}, {_DESCRIBED[g]}",
                    "price": float(5 + n),
                    "brand_id": f"studio-{g}",
                    "category_ids": [f"cat-{g}"],
                }
            )
            by_genre[g].append(pid)
            shop.genre_of[pid] = g
    store.upsert_products(products)
    if directors:
        _add_directors(store, shop)
    events: list[InteractionRow] = []
    for u in range(users):
        uid = f"u{u:03d}"
        genre = GENRES[u % len(GENRES)]
        shop.favourite[uid] = genre
        own = list(rng.choice(by_genre[genre], size=8, replace=False))
        others = [p for p in shop.genre_of if shop.genre_of[p] != genre]
        picks = own + list(rng.choice(others, size=2, replace=False))
        shop.history[uid] = set(picks)
    # every product bought at least once, by a fan of its genre
    bought = {p for h in shop.history.values() for p in h}
    for pid in shop.genre_of:
        if pid not in bought:
            fan = shop.fans(shop.genre_of[pid])[len(bought) % len(shop.fans(shop.genre_of[pid]))]
            shop.history[fan].add(pid)
            bought.add(pid)
    store.upsert_users(
        [
            {"id": uid, "attrs": {"occupation": f"{genre} fan"}} if declared else {"id": uid}
            for uid, genre in shop.favourite.items()
        ]
    )
    for uid, items in shop.history.items():
        for t, pid in enumerate(rng.permutation(sorted(items)).tolist()):
            ts = 1_000_000 + t * 1000 + int(rng.integers(0, 999))
            events.append({"user_id": uid, "product_id": pid, "kind": "purchase", "ts": ts})
    store.upsert_interactions(events)
    return shop


def _add_directors(store: GraphStore, shop: Shop) -> None:
    """Two directors per genre: a named one (even products), an unnamed one (odd)."""
    entities: list[EntityRow] = []
    links: list[EntityLinkRow] = []
    for g in GENRES:
        named, unnamed = f"director-{g}", f"m.0{g}"
        shop.director_name[named] = f"{g.title()} Auteur"
        shop.director_name[unnamed] = None
        entities += [{"id": named, "kind": "person", "name": f"{g.title()} Auteur"}]
        entities += [{"id": unnamed, "kind": "person"}]
    for pid, g in shop.genre_of.items():
        director = f"director-{g}" if int(pid.rsplit("-", 1)[1]) % 2 == 0 else f"m.0{g}"
        shop.director_of[pid] = director
        links.append({"product_id": pid, "entity_id": director, "relation": DIRECTED_BY})
    store.upsert_entities(entities)
    store.link_entities(links)


def trained_shop(
    store: GraphStore, settings: Settings, encoder: TextEncoder, *, directors: bool = False
) -> tuple[Shop, ArtifactSet]:
    """Write the shop into the emptied ``store``, train and embed it.

    Training is `kgrec train` (GNN, generators, ranker); embedding is `kgrec embed`
    (faiss indexes included).
    """
    store.delete_all()
    described = load_genre_shop(store, directors=directors)
    options = pipeline_options(settings)
    snapshot = export_current(options, store, encoder, show_progress=False)
    train_snapshot(options, snapshot, show_progress=False)
    return described, write_artifacts(options, encoder, writers=version_writers(settings))


def shop_engine(
    settings: Settings, artifacts: ArtifactSet, encoder: TextEncoder, store: GraphStore | None
) -> Engine:
    """A serving engine over the shop's artifacts, with the GNN's inductive embedder.

    With the data directory's ledger of online writes, as ``kgrec serve`` has.
    """
    return Engine(
        engine_options(settings),
        artifacts,
        encoder,
        store,
        embedder_factory=gnn_embedder_factory(settings, encoder),
        written_online=WrittenOnline.in_data_dir(settings.data_dir),
    )


@contextlib.contextmanager
def shop_client(
    settings: Settings, artifacts: ArtifactSet, encoder: TextEncoder, store: GraphStore
) -> Iterator[TestClient]:
    """A TestClient on the app (``settings``) serving the shop's artifacts over ``store``."""

    @contextlib.contextmanager
    def services(s: Settings) -> Iterator[Services]:
        yield Services(settings=s, engine=shop_engine(s, artifacts, encoder, store), store=store)

    with TestClient(create_app(settings, services)) as client:
        yield client
