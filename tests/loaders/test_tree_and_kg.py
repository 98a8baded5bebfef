"""Category trees (path strings, id/parent rows) and knowledge-graph triples."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgrec.graph import GraphStore
from kgrec.loaders.categories import category_chain
from kgrec.settings import Settings
from tests.utils.loaders import rejects_of, run, write
from tests.utils.settings import make_settings


def parents(store: GraphStore) -> dict[str, str]:
    frame = store.cypher(
        "MATCH (c:Category)-[:SUBCATEGORY_OF]->(p:Category) RETURN c.id AS c, p.id AS p"
    )
    return dict(zip(frame["c"], frame["p"], strict=True))


def test_path_strings_with_a_configured_separator(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    slash = make_settings(settings.data_dir, loaders={"category_separator": "/"})
    categories = write(tmp_path, "cats.csv", "path\nShoes/Running/Trail\nShoes/Running/Road")
    products = write(tmp_path, "p.csv", "id,title,category_path\np1,Boot,Shoes/Hiking")
    report = run(store, slash, {"categories": categories, "products": products})
    assert report.exit_code == 0
    assert parents(store) == {
        "shoes/running": "shoes",
        "shoes/running/trail": "shoes/running",
        "shoes/running/road": "shoes/running",
        "shoes/hiking": "shoes",
    }
    names = store.nodes_by_id("Category", ["shoes/running/trail"])
    assert names["shoes/running/trail"]["name"] == "Trail"
    assert names["shoes/running/trail"]["path"] == "Shoes/Running/Trail"
    linked = store.cypher("MATCH (:Product {id: 'p1'})-[:IN_CATEGORY]->(c) RETURN c.id AS id")
    assert linked["id"].tolist() == ["shoes/hiking"]


@pytest.mark.parametrize(
    ("path", "separator"),
    [
        ("Shoes > Running > ", " > "),
        ("> Shoes > Running", " > "),
        (" >  > Shoes > > Running >> ", " > "),
        ("/Shoes/Running/", "/"),
    ],
)
def test_separators_at_the_ends_of_a_path_are_no_categories(path: str, separator: str) -> None:
    """They were names: ``Running >`` (id ``shoes/running->``), ``> Shoes`` (``>-shoes``)."""
    chain = [(c["id"], c["name"], c["parent_id"]) for c in category_chain(path, separator)]
    assert chain == [("shoes", "Shoes", None), ("shoes/running", "Running", "shoes")]
    assert category_chain(f"{separator}{separator.strip()}", separator) == []


def test_a_categories_file_path_of_separators_only_is_missing(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    categories = write(tmp_path, "cats.csv", "id,path\n,Shoes > Running >\n,>\nbags, > ")
    report = run(store, settings, {"categories": categories})
    assert [(r["row"], r["reason"]) for r in rejects_of(report)] == [
        ("2", "missing required field: a row needs an id or a path")
    ]
    assert parents(store) == {"shoes/running": "shoes"}
    assert sorted(store.cypher("MATCH (c:Category) RETURN c.id AS id")["id"]) == [
        "bags",
        "shoes",
        "shoes/running",
    ]


def test_id_parent_rows_in_any_order_and_unknown_parents(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    categories = write(
        tmp_path,
        "cats.csv",
        """
        id,name,parent_id
        trail,Trail,running
        running,Running,shoes
        shoes,Shoes,
        orphan,Orphan,nowhere
        below-orphan,Below,orphan
        """,
    )
    report = run(store, settings, {"categories": categories})
    assert parents(store) == {"trail": "running", "running": "shoes"}
    got = {(r["row"], r["reason"]) for r in rejects_of(report)}
    assert got == {
        ("4", "unknown parent category: 'nowhere'"),
        ("5", "unknown parent category: 'orphan'"),
    }
    assert report.counts["categories"].rejected == 2


def test_a_row_with_a_path_and_a_parent_id_takes_the_parent_id_and_no_slug_categories(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    """An export with both columns built a second tree of slug ids beside the file's own."""
    categories = write(
        tmp_path,
        "cats.csv",
        """
        id,name,parent_id,path
        1,Shoes,,Shoes
        2,Running,1,Shoes > Running
        3,,2,Shoes > Running > Trail
        9,Bags,,
        """,
    )
    report = run(store, settings, {"categories": categories})
    assert report.exit_code == 0
    assert parents(store) == {"2": "1", "3": "2"}
    ids = store.cypher("MATCH (c:Category) RETURN c.id AS id")["id"]
    assert sorted(ids) == ["1", "2", "3", "9"]
    three = store.nodes_by_id("Category", ["3"])["3"]
    assert (three["name"], three["path"]) == ("Trail", "Shoes > Running > Trail")


def test_kg_triples_and_links(store: GraphStore, settings: Settings, tmp_path: Path) -> None:
    products = write(tmp_path, "p.csv", "id,title\np1,Chair")
    triples = write(
        tmp_path,
        "kg.csv",
        "head,relation,tail,head_kind,tail_kind\ne1,designed_by,e2,design,designer",
    )
    links = write(
        tmp_path,
        "links.csv",
        "product_id,entity_id,relation,kind\np1,e1,design,design\np9,e1,design,design",
    )
    report = run(store, settings, {"products": products, "kg": triples, "kg_links": links})
    assert [r["reason"] for r in rejects_of(report)] == ["unknown product: 'p9'"]
    rels = store.count_relationships()
    assert (rels["HAS_ENTITY"], rels["RELATED"]) == (1, 1)
    kinds = store.nodes_by_id("Entity", ["e1", "e2"])
    assert (kinds["e1"]["kind"], kinds["e2"]["kind"]) == ("design", "designer")
    relation = store.cypher("MATCH ()-[r:RELATED]->() RETURN r.relation AS r")["r"].tolist()
    assert relation == ["designed_by"]
    lines = report.summary_lines()
    assert any(
        line.startswith("kg: 1 row, 1 relationship created, 0 updated, 0 unchanged")
        for line in lines
    ), lines
    assert any(
        line.startswith("kg_links: 2 rows, 1 relationship created, 0 updated, 0 unchanged")
        for line in lines
    ), lines
    again = run(store, settings, {"kg": triples, "kg_links": links})  # nothing new to write
    lines = again.summary_lines()
    assert any(
        line.startswith("kg: 1 row, 0 relationships created, 0 updated, 1 unchanged")
        for line in lines
    ), lines
    assert (again.counts["kg_links"].created, again.counts["kg_links"].unchanged) == (0, 1)


def test_a_category_path_on_a_product_creates_missing_categories_only(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    rows = "id,name,parent_id\nshoes,All shoes,\nshoes/running,Running shoes,shoes"
    categories = write(tmp_path, "cats.csv", rows)
    assert run(store, settings, {"categories": categories}).exit_code == 0
    products = write(tmp_path, "p.csv", "id,title,category_path\np1,Racer,Shoes > Running > Road")
    report = run(store, settings, {"products": products})
    assert report.counts["categories"].created == 1
    nodes = store.nodes_by_id("Category", ["shoes", "shoes/running", "shoes/running/road"])
    assert nodes["shoes"]["name"] == "All shoes" and "path" not in nodes["shoes"]
    assert nodes["shoes/running"]["name"] == "Running shoes"
    assert nodes["shoes/running/road"]["name"] == "Road"
    assert parents(store)["shoes/running/road"] == "shoes/running"


def test_a_rejected_products_category_path_creates_no_category(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    products = write(
        tmp_path, "p.csv", "id,title,category_path\np5,Boot,Shoes\np6,,Secret > Unreleased"
    )
    report = run(store, settings, {"products": products})
    assert [(r["row"], r["column"]) for r in rejects_of(report)] == [("2", "title")]
    assert report.counts["categories"].created == 1
    assert store.cypher("MATCH (c:Category) RETURN c.id AS id")["id"].tolist() == ["shoes"]


def test_a_categories_file_without_names_keeps_the_names_and_names_new_ones_by_id(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    named = write(tmp_path, "c1.csv", "id,name\nshoes,All shoes\nbags,All bags")
    assert run(store, settings, {"categories": named}).exit_code == 0
    tree = write(tmp_path, "c2.csv", "id,parent_id\nshoes,\nrunning,shoes")
    report = run(store, settings, {"categories": tree})
    counts = report.counts["categories"]
    assert (counts.created, counts.unchanged, counts.removed) == (1, 1, 0)
    empty = write(tmp_path, "c3.csv", "id,name\nbags,")
    run(store, settings, {"categories": empty})
    nodes = store.nodes_by_id("Category", ["shoes", "running", "bags"])
    names = {k: v["name"] for k, v in nodes.items()}
    assert names == {"shoes": "All shoes", "running": "running", "bags": "All bags"}
    assert parents(store) == {"running": "shoes"}


def test_a_key_a_json_lines_category_lacks_is_left_as_it_is(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    first = write(tmp_path, "c1.jsonl", '{"id": "shoes", "name": "Shoes", "path": "Shoes"}')
    run(store, settings, {"categories": first})
    second = write(
        tmp_path,
        "c2.jsonl",
        """
        {"id": "shoes", "name": "Footwear"}
        {"id": "bags", "name": "Bags", "path": "Bags"}
        """,
    )
    assert run(store, settings, {"categories": second}).exit_code == 0
    shoes = store.nodes_by_id("Category", ["shoes"])["shoes"]
    assert (shoes["name"], shoes["path"]) == ("Footwear", "Shoes")
