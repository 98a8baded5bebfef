"""Mapping typos, ignored and misspelt columns, category separators (``kgrec import``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgrec.errors import DataValidationError
from kgrec.graph import GraphStore
from kgrec.loaders import ColumnMapping
from kgrec.settings import Settings
from tests.utils.loaders import invoke, run, write
from tests.utils.settings import make_settings

PRODUCTS = """
id,title,Long Description,Avg Stars
p1,Kettle,Boils water,4.5
"""


def test_a_mapping_naming_a_missing_column_stops_before_anything_is_written(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    brands = write(tmp_path, "brands.csv", "id,name\nacme,Acme")
    products = write(tmp_path, "products.csv", PRODUCTS)
    mapping = write(
        tmp_path,
        "m.toml",
        """
        [products]
        rename = { "Long Descr" = "description" }
        keep = ["Avg Star"]
        """,
    )
    for extra in ([], ["--dry-run"]):
        args = ["import", "--brands", str(brands), "--products", str(products)]
        result = invoke(settings, *args, "--mapping", str(mapping), *extra)
        assert result.exit_code == 1, result.output
        message = str(result.exception)
        assert isinstance(result.exception, DataValidationError), message
        assert str(products) in message and "[products] section" in message
        assert "rename names column 'Long Descr'" in message
        assert "did you mean 'Long Description'?" in message
        assert "keep names column 'Avg Star'" in message and "did you mean 'Avg Stars'?" in message
        assert "columns found: id, title, Long Description, Avg Stars" in message
        assert sum(store.count_nodes().values()) == 0  # not even the brands file was written


def test_keep_and_types_name_original_or_renamed_columns(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    products = write(tmp_path, "products.csv", PRODUCTS)
    mapping = write(
        tmp_path,
        "m.toml",
        """
        [products]
        rename = { "Long Description" = "description", "Avg Stars" = "avg_stars" }
        keep = ["Avg Stars"]
        types = { avg_stars = "float" }
        """,
    )
    report = run(store, settings, {"products": products}, mapping=ColumnMapping.load(mapping))
    assert report.exit_code == 0 and report.messages == []
    props = store.nodes_by_id("Product", ["p1"])["p1"]
    assert props["avg_stars"] == 4.5 and props["description"] == "Boils water"


def test_fields_under_other_names_are_named_with_the_closest_field(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    products = write(
        tmp_path, "products.csv", "id,title,brand,category\np1,Shoe,Nike,Shoes > Running"
    )
    result = invoke(settings, "import", "--products", str(products))
    assert result.exit_code == 0, result.output
    assert "kept as attribute brand (did you mean brand_id or brand_name?)" in result.output
    assert (
        "kept as attribute category (did you mean category_ids or category_path?)" in result.output
    )

    store.delete_all()
    result = invoke(settings, "import", "--products", str(products), "--strict")
    assert result.exit_code == 1
    message = str(result.exception)
    assert "--strict" in message and "brand, category" in message
    assert "nothing was written" in message
    assert store.count_nodes()["Product"] == 0


def test_columns_left_out_of_keep_are_reported_as_ignored(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    products = write(tmp_path, "p.csv", "id,title,color,brand,internal\np1,Shoe,red,Nike,x")
    keep = write(tmp_path, "keep.toml", '[products]\nkeep = ["color"]')
    report = run(store, settings, {"products": products}, mapping=ColumnMapping.load(keep))
    assert report.messages == [
        f"{products}: ignored columns: brand (did you mean brand_id or brand_name?), internal"
    ]
    ignore = write(tmp_path, "ignore.toml", '[products]\nkeep = ["color"]\nignore = ["internal"]')
    report = run(store, settings, {"products": products}, mapping=ColumnMapping.load(ignore))
    assert report.messages == [
        f"{products}: ignored columns: brand (did you mean brand_id or brand_name?)"
    ]
    with pytest.raises(DataValidationError, match=r"--strict: .*: brand;"):
        run(
            store, settings, {"products": products}, mapping=ColumnMapping.load(ignore), strict=True
        )


def test_json_lines_keys_first_seen_after_the_first_chunk_are_columns(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    """Only the first chunk's keys were columns: a rename of a later key was an error."""
    lines = [
        {"id": "p1", "title": "Shoe"},
        {"id": "p2", "title": "Hat", "colour": "red", "internal": "x"},
    ]
    products = write(tmp_path, "p.jsonl", "\n".join(json.dumps(line) for line in lines))
    chunked = make_settings(settings.data_dir, loaders={"import_chunk_rows": 1})
    section = '[products]\nrename = { colour = "color" }\nkeep = ["color"]'
    mapping = ColumnMapping.load(write(tmp_path, "m.toml", section))
    report = run(store, chunked, {"products": products}, mapping=mapping)
    assert report.messages == [f"{products}: ignored columns: internal"]
    hat = store.nodes_by_id("Product", ["p2"])["p2"]
    assert hat == {"id": "p2", "title": "Hat", "color": "red"}


def test_category_separator_in_the_mapping_and_the_flat_tree_warning(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    products = write(
        tmp_path,
        "p.csv",
        "id,title,category_path\np1,Boot,Shoes / Hiking\np2,Sandal,Shoes / Summer|Sale",
    )
    report = run(store, settings, {"products": products})
    assert report.exit_code == 0
    assert report.messages == [
        f"{products}: 2 of 3 category_path values contain ' / ' (e.g. 'Shoes / Hiking') but "
        "not the category separator ' > ', so each became one flat category; if ' / ' "
        'separates levels, set category_separator = " / " in the mapping\'s [products] '
        "section (or KGREC_LOADERS__CATEGORY_SEPARATOR)"
    ]

    store.delete_all()
    mapping = write(tmp_path, "m.toml", '[products]\ncategory_separator = " / "')
    report = run(store, settings, {"products": products}, mapping=ColumnMapping.load(mapping))
    assert report.exit_code == 0 and report.messages == []
    tree = store.cypher(
        "MATCH (c:Category)-[:SUBCATEGORY_OF]->(p:Category) RETURN c.id AS c, p.id AS p"
    )
    assert dict(zip(tree["c"], tree["p"], strict=True)) == {
        "shoes/hiking": "shoes",
        "shoes/summer": "shoes",
    }
    linked = store.cypher("MATCH (:Product {id: 'p2'})-[:IN_CATEGORY]->(c) RETURN c.id AS id")
    assert sorted(linked["id"]) == ["sale", "shoes/summer"]
