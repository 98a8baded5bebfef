"""Re-imports merge the columns a file has; --replace removes the others."""

from __future__ import annotations

from pathlib import Path

from kgrec.graph import GraphStore
from kgrec.settings import Settings
from tests.utils.loaders import invoke, rejects_of, run, write


def test_a_reimport_keeps_attributes_the_file_lacks_and_replace_removes_them(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    first = write(tmp_path, "first.csv", "id,title,price,color\np1,Shoe,10,red\np2,Boot,20,blue")
    assert run(store, settings, {"products": first}).exit_code == 0

    # No price column: prices stay. An empty color cell removes p1's color.
    second = write(tmp_path, "second.csv", "id,title,color\np1,Shoe v2,\np2,Boot,blue")
    report = run(store, settings, {"products": second})
    counts = report.counts["products"]
    assert (counts.updated, counts.unchanged, counts.removed) == (1, 1, 1)
    nodes = store.nodes_by_id("Product", ["p1", "p2"])
    assert nodes["p1"]["title"] == "Shoe v2" and nodes["p1"]["price"] == 10.0
    assert "color" not in nodes["p1"]
    assert nodes["p2"]["price"] == 20.0 and nodes["p2"]["color"] == "blue"

    # --replace: each product keeps exactly the file's columns (p1: price; p2: price, color).
    third = write(tmp_path, "third.csv", "id,title\np1,Shoe v2\np2,Boot")
    result = invoke(settings, "import", "--products", str(third), "--replace")
    assert result.exit_code == 0, result.output
    assert "products: 2 rows, 0 created, 2 updated, 0 unchanged, 3 properties removed" in (
        result.output
    )
    nodes = store.nodes_by_id("Product", ["p1", "p2"])
    for props in nodes.values():
        assert "price" not in props and "color" not in props


def test_users_keep_attributes_the_file_lacks(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    first = write(tmp_path, "u1.csv", "id,country,segment,age\nu1,DE,home,40")
    second = write(tmp_path, "u2.csv", "id,segment,country\nu1,office,")
    run(store, settings, {"users": first})
    report = run(store, settings, {"users": second})
    assert report.counts["users"].removed == 1
    props = store.nodes_by_id("User", ["u1"])["u1"]
    assert (props["segment"], props["age"]) == ("office", "40")
    assert "country" not in props


def test_a_key_a_json_lines_row_lacks_is_not_carried_by_that_row(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    first = write(
        tmp_path,
        "first.jsonl",
        """
        {"id": "p1", "title": "Shoe", "price": 10, "color": "red"}
        {"id": "p2", "title": "Boot", "price": 20, "color": "blue"}
        """,
    )
    run(store, settings, {"products": first})
    # p1 lacks color and price (kept); p2 gives color null (removed) and a new price.
    second = write(
        tmp_path,
        "second.jsonl",
        """
        {"id": "p1", "title": "Shoe v2"}
        {"id": "p2", "title": "Boot", "price": 25, "color": null}
        {"id": "p3", "title": "Sock", "size": 40}
        {"id": "p4", "price": -1}
        """,
    )
    report = run(store, settings, {"products": second})
    counts = report.counts["products"]
    assert (counts.created, counts.updated, counts.removed, counts.rejected) == (1, 2, 1, 1)
    nodes = store.nodes_by_id("Product", ["p1", "p2", "p3"])
    assert (nodes["p1"]["title"], nodes["p1"]["price"], nodes["p1"]["color"]) == (
        "Shoe v2",
        10,
        "red",
    )
    assert nodes["p2"]["price"] == 25 and "color" not in nodes["p2"]
    assert nodes["p3"]["size"] == 40 and "color" not in nodes["p3"]
    rejected = rejects_of(report)
    assert [r["row"] for r in rejected] == ["4"]
    assert "__absent__" not in rejected[0] and rejected[0]["id"] == "p4"
