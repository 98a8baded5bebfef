"""Each rejection reason: the row, column and reason land in the rejects file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgrec.errors import DataValidationError
from kgrec.graph import GraphStore
from kgrec.loaders.constants import EntityKind
from kgrec.settings import Settings
from tests.utils.loaders import rejects_of, run, write
from tests.utils.settings import make_settings

PRODUCTS = """
id,title,price,in_stock,brand_id
p1,Good shoe,10.5,true,b1
p2,,12,true,b1
p3,Priced in words,ten,true,b1
p4,Negative,-3,true,b1
p5,Odd stock,4,maybe,b1
p1,Good shoe,10.5,true,b1
p1,Other title,10.5,true,b1
p6,A title far too long for the limit of this test run,1,true,b1
"""


@pytest.fixture
def small(tmp_path: Path, settings: Settings) -> Settings:
    return make_settings(settings.data_dir, loaders={"max_title_chars": 30})


def test_product_rejections_name_row_column_and_reason(
    store: GraphStore, small: Settings, tmp_path: Path
) -> None:
    path = write(tmp_path, "products.csv", PRODUCTS)
    report = run(store, small, {"products": path}, rejects=tmp_path / "rejects.csv")
    assert report.exit_code == 3
    counts = report.counts["products"]
    assert (counts.rows, counts.created, counts.unchanged, counts.rejected) == (8, 1, 1, 6)
    got = {(r["row"], r["column"], r["reason"].split(":")[0]) for r in rejects_of(report)}
    assert got == {
        ("2", "title", "missing required field"),
        ("3", "price", "not a number"),
        ("4", "price", "negative price"),
        ("5", "in_stock", "not a boolean"),
        ("7", "id", "duplicate id with conflicting values"),
        ("8", "title", "text over the limit"),
    }
    rows = rejects_of(report)
    assert all(r["file"] == str(path) for r in rows)
    assert {r["id"] for r in rows} == {"p2", "p3", "p4", "p5", "p1", "p6"}  # original row kept
    assert store.count_nodes()["Product"] == 1


def test_interaction_rejections(store: GraphStore, settings: Settings, tmp_path: Path) -> None:
    products = write(tmp_path, "p.csv", "id,title\np1,One")
    users = write(tmp_path, "u.csv", "id\nu1")
    events = write(
        tmp_path,
        "e.csv",
        """
        user_id,product_id,kind,ts,value
        u1,p1,view,1700000000,
        u1,p1,teleport,1700000001,
        u9,p1,view,1700000002,
        u1,p9,view,1700000003,
        u1,p1,rate,yesterday,
        u1,p1,rate,2024-01-02T03:04:05Z,4
        u1,p1,rate,1700000004,high
        """,
    )
    report = run(store, settings, {"products": products, "users": users, "interactions": events})
    got = {(r["row"], r["column"], r["reason"].split(":")[0]) for r in rejects_of(report)}
    assert got == {
        ("2", "kind", "unknown kind"),
        ("3", "user_id", "unknown user"),
        ("4", "product_id", "unknown product"),
        ("5", "ts", "not a timestamp"),
        ("7", "value", "not a number"),
    }
    assert report.counts["interactions"].created == 2
    assert store.count_relationships()["INTERACTED"] == 2


def test_interactions_may_name_users_and_products_already_in_the_graph(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    store.upsert_users([{"id": "old-user"}])
    store.upsert_products([{"id": "old-product", "title": "Old"}])
    events = write(tmp_path, "e.csv", "user_id,product_id,kind,ts\nold-user,old-product,cart,5")
    report = run(store, settings, {"interactions": events})
    assert report.exit_code == 0
    assert report.counts["interactions"].created == 1


def test_missing_required_column_is_an_error_naming_the_file(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    path = write(tmp_path, "products.csv", "id,name\np1,Shoe")
    with pytest.raises(DataValidationError, match=r"products\.csv.*column title"):
        run(store, settings, {"products": path})


def test_a_required_key_absent_from_a_whole_json_lines_chunk_rejects_its_rows(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    """A chunk without the key skipped the check: a product without a title, a crash."""
    chunked = make_settings(settings.data_dir, loaders={"import_chunk_rows": 2})
    event: dict[str, object] = {"user_id": "u1", "product_id": "p1", "kind": "view"}
    files: dict[EntityKind, list[dict[str, object]]] = {
        "products": [{"id": "p1", "title": "Shoe"}, {"id": "p2", "title": "Hat"}, {"id": "q1"}],
        "users": [{"id": "u1"}],
        "interactions": [{**event, "ts": 1}, {**event, "ts": 2}, event, event, {"ts": 3}],
    }
    paths = {
        entity: write(tmp_path, f"{entity}.jsonl", "\n".join(json.dumps(row) for row in rows))
        for entity, rows in files.items()
    }
    report = run(store, chunked, paths)
    got = [(r["file"], r["row"], r["column"], r["reason"]) for r in rejects_of(report)]
    assert got == [
        (str(paths["products"]), "3", "title", "missing required field"),
        (str(paths["interactions"]), "3", "ts", "missing required field"),
        (str(paths["interactions"]), "4", "ts", "missing required field"),
        (str(paths["interactions"]), "5", "user_id", "missing required field"),
    ]
    assert store.count_nodes()["Product"] == 2
    assert report.counts["interactions"].created == 2
