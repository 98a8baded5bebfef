"""Idempotence, updates, --strict, --dry-run, empty and header-only files."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from kgrec.graph import GraphStore
from kgrec.loaders import CatalogueGenerator
from kgrec.settings import Settings
from tests.utils.loaders import run, write


def test_reimport_is_idempotent_and_a_changed_row_updates(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    files = CatalogueGenerator(products=300, users=50, interactions=800, seed=3).write(tmp_path)
    first = run(store, settings, files)  # type: ignore[arg-type]
    assert first.exit_code == 0
    nodes, rels = store.count_nodes(), store.count_relationships()
    again = run(store, settings, files)  # type: ignore[arg-type]
    assert (store.count_nodes(), store.count_relationships()) == (nodes, rels)
    assert again.counts["products"].unchanged == 300
    assert again.counts["products"].created == again.counts["products"].updated == 0
    assert again.counts["interactions"].created == 0

    changed = write(tmp_path, "one.csv", "id,title,price\np0,Renamed,1.0")
    report = run(store, settings, {"products": changed})
    assert report.counts["products"].updated == 1
    assert store.nodes_by_id("Product", ["p0"])["p0"]["title"] == "Renamed"


def test_strict_writes_nothing_when_a_row_is_rejected(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    products = write(tmp_path, "p.csv", "id,title,price\np1,Fine,1\np2,Bad,-1")
    report = run(store, settings, {"products": products}, strict=True)
    assert report.aborted and report.exit_code == 3
    assert store.count_nodes()["Product"] == 0
    clean = write(tmp_path, "ok.csv", "id,title,price\np1,Fine,1")
    assert run(store, settings, {"products": clean}, strict=True).exit_code == 0
    assert store.count_nodes()["Product"] == 1


def test_dry_run_validates_and_writes_nothing(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    products = write(tmp_path, "p.csv", "id,title\np1,Fine\np2,")
    users = write(tmp_path, "u.csv", "id\nu1")
    events = write(tmp_path, "e.csv", "user_id,product_id,kind,ts\nu1,p1,view,1\nu1,p2,view,2")
    report = run(
        store, settings, {"products": products, "users": users, "interactions": events},
        dry_run=True,
    )  # fmt: skip
    assert report.counts["products"].accepted == 1
    assert report.counts["interactions"].accepted == 1  # p1 counts as known, p2 was rejected
    assert report.rejected == 2
    assert sum(store.count_nodes().values()) == 0


def test_a_dry_run_counts_the_category_files_rows_not_the_categories_they_expand_to(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    categories = write(tmp_path, "cats.csv", "path\nShoes > Running > Road\nShoes > Hiking")
    report = run(store, settings, {"categories": categories}, dry_run=True)
    counts = report.counts["categories"]
    assert (counts.rows, counts.accepted, counts.rejected) == (2, 2, 0)
    assert any(line.startswith("categories: 2 rows, 2 valid") for line in report.summary_lines())
    assert sum(store.count_nodes().values()) == 0


@pytest.mark.parametrize("data", [b"", codecs.BOM_UTF8, codecs.BOM_UTF8 + b"\r\n", b"\n  \n\t"])
def test_empty_and_header_only_files(
    store: GraphStore, settings: Settings, tmp_path: Path, data: bytes
) -> None:
    """A byte-order mark or blank lines alone are empty too (they were a header error)."""
    empty = tmp_path / "empty.csv"
    empty.write_bytes(data)
    header = write(tmp_path, "header.csv", "id,title")
    report = run(store, settings, {"products": empty, "users": header})
    assert report.exit_code == 0
    assert any("empty.csv: empty file" in m for m in report.messages)
    assert any("header.csv: header only" in m for m in report.messages)


def test_brands_and_categories_named_by_products_are_counted_created(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    brands = write(tmp_path, "b.csv", "id,name\nstride,Stride")
    products = write(
        tmp_path, "p.csv", "id,title,brand_id,category_ids\np1,Shoe,acme,c1|c2\np2,Boot,stride,c1"
    )
    report = run(store, settings, {"brands": brands, "products": products})
    assert report.counts["brands"].created == 2  # stride from its file, acme from p1
    assert report.counts["categories"].created == 2
    assert store.count_nodes()["Brand"] == 2 and store.count_nodes()["Category"] == 2
    again = run(store, settings, {"products": products})
    assert set(again.counts) == {"products"}  # nothing new: no brands or categories line


def test_brand_name_without_brand_id_is_named_in_the_summary(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    products = write(tmp_path, "p.csv", "id,title,brand_name\np1,Hat,Hatters Inc")
    report = run(store, settings, {"products": products})
    assert any("brand_name without brand_id" in m for m in report.messages), report.messages
