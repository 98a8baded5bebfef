"""The mapping example of docs/loaders.md loads and imports what it says it does."""

from __future__ import annotations

import re
from pathlib import Path

from kgrec.graph import GraphStore
from kgrec.loaders import ColumnMapping
from kgrec.settings import Settings
from tests.utils.loaders import rejects_of, run, write

DOC = Path(__file__).resolve().parents[2] / "docs" / "loaders.md"


def doc_mapping(tmp_path: Path) -> Path:
    """The one ```toml block of docs/loaders.md, as a file."""
    blocks = re.findall(r"^```toml\n(.*?)^```$", DOC.read_text(encoding="utf-8"), re.M | re.S)
    assert len(blocks) == 1, "docs/loaders.md should hold exactly one ```toml example"
    path = tmp_path / "mapping.toml"
    path.write_text(blocks[0], encoding="utf-8")
    return path


def test_the_documented_mapping_loads(tmp_path: Path) -> None:
    mapping = ColumnMapping.load(doc_mapping(tmp_path))
    products = mapping.section("products")
    assert products.rename["Avg Stars"] == "avg_stars" and products.rename["sku"] == "id"
    assert (products.encoding, products.delimiter) == ("cp1252", ";")
    assert (products.category_separator, products.list_separator) == (" / ", ",")
    assert products.ignore == ["internal_note"]
    assert mapping.section("users").keep == []
    assert mapping.section("interactions").kinds["order"] == "purchase"


def test_the_documented_mapping_imports_an_export(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    mapping = ColumnMapping.load(doc_mapping(tmp_path))
    header = "sku;name;long_text;cost;maker;breadcrumb;Avg Stars;color;weight_g;internal_note"
    row = "A1;Kettle €;Steel kettle;20.5;acme;Kitchen / Kettles,Gifts;4.5;red;850;x"
    products = write(tmp_path, "export.csv", f"{header}\n{row}", encoding="cp1252")
    users = write(tmp_path, "customers.csv", "customer_no,segment\nc1,home")
    events = write(tmp_path, "events.csv", "customer_no,sku,event,time\nc1,A1,order,99")
    report = run(
        store,
        settings,
        {"products": products, "users": users, "interactions": events},
        mapping=mapping,
    )
    assert report.exit_code == 0, rejects_of(report)
    # internal_note is ignored on purpose; segment is left out by keep = [].
    assert report.messages == [f"{users}: ignored columns: segment"]
    props = store.nodes_by_id("Product", ["A1"])["A1"]
    assert (props["title"], props["description"], props["price"]) == (
        "Kettle €",
        "Steel kettle",
        20.5,
    )
    assert (props["avg_stars"], props["weight_g"], props["color"]) == (4.5, 850.0, "red")
    assert "internal_note" not in props
    categories = store.cypher("MATCH (:Product {id: 'A1'})-[:IN_CATEGORY]->(c) RETURN c.id AS id")
    assert sorted(categories["id"]) == ["gifts", "kitchen/kettles"]
    assert store.count_relationships()["HAS_BRAND"] == 1
    assert store.nodes_by_id("User", ["c1"])["c1"] == {"id": "c1"}
    kinds = store.cypher("MATCH ()-[i:INTERACTED]->() RETURN i.kind AS kind")["kind"].tolist()
    assert kinds == ["purchase"]
