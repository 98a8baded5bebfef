"""The RecBole adapter on a small slice of the real ml-100k atomic files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kgrec.graph import GraphStore
from kgrec.loaders import Importer, PublicDataset, RecboleDataset, RecbolePreset, validation_options
from kgrec.settings import Settings
from tests.utils.settings import make_settings

REPO = Path(__file__).resolve().parents[2]
ITEMS = 40


@pytest.fixture(scope="module")
def ml_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 40 movies, their links and triples, 60 users and their ratings of them."""
    fetch_settings = make_settings(REPO / ".kgrec")
    source = PublicDataset.named("ml-100k").fetch(fetch_settings.dataset_root)  # no-op when present
    out = tmp_path_factory.mktemp("ml-slice")

    def read(suffix: str) -> pd.DataFrame:
        return pd.read_csv(source / f"ml-100k{suffix}", sep="\t", dtype=str)

    def save(frame: pd.DataFrame, suffix: str) -> None:
        frame.to_csv(out / f"ml-100k{suffix}", sep="\t", index=False)

    items = read(".item").head(ITEMS)
    users = read(".user").head(60)
    inter = read(".inter")
    inter = inter[inter["item_id:token"].isin(items["item_id:token"])].head(300)
    inter = pd.concat([inter, inter.head(1).assign(**{"user_id:token": "no-such-user"})])
    link = read(".link")
    link = link[link["item_id:token"].isin(items["item_id:token"])]
    kg = read(".kg")
    kg = kg[kg["head_id:token"].isin(link["entity_id:token"])].head(400)
    for frame, suffix in ((items, ".item"), (users, ".user"), (inter, ".inter")):
        save(frame, suffix)
    save(link, ".link")
    save(kg, ".kg")
    return out


def test_ml100k_slice(store: GraphStore, settings: Settings, ml_slice: Path) -> None:
    preset = RecbolePreset.named("ml-100k")
    dataset = RecboleDataset(ml_slice, preset, settings.loaders.import_chunk_rows)
    options = validation_options(settings.loaders)
    importer = Importer(store, options, data_dir=settings.data_dir, progress=False)
    report = importer.run(dataset.sources())
    nodes, rels = store.count_nodes(), store.count_relationships()
    assert nodes["Product"] == ITEMS
    toy = store.nodes_by_id("Product", ["1"])["1"]
    assert toy["title"] == "Toy Story"
    assert toy["description"] == "Toy Story (1995): Animation, Children's, Comedy"
    assert toy["year"] == 1995
    genres = store.cypher("MATCH (:Product {id: '1'})-[:IN_CATEGORY]->(c) RETURN c.id AS g")
    assert sorted(genres["g"]) == ["Animation", "Children's", "Comedy"]
    user = store.nodes_by_id("User", ["1"])["1"]
    assert (user["age"], user["gender"], user["occupation"]) == (24, "M", "technician")
    rated = store.cypher("MATCH ()-[i:INTERACTED]->() RETURN DISTINCT i.kind AS k")
    assert rated["k"].tolist() == ["rate"]
    ratings = report.counts["interactions"]
    assert ratings.created > 0
    assert ratings.rejected == ratings.rows - ratings.created  # users past the slice, no-such-user
    assert rels["HAS_ENTITY"] > 0 and nodes["Entity"] > 0 and rels["HAS_BRAND"] > 0
    relations = store.cypher("MATCH ()-[r:HAS_ENTITY]->() RETURN DISTINCT r.relation AS r")
    assert "film.film.directed_by" in set(relations["r"])
    assert "film.director.film" not in set(relations["r"])  # inverse duplicates dropped
