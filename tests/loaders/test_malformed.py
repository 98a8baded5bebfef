"""Malformed files and mapping slips never shift, wipe or lose catalogue data.

Each case was found by a review that imported broken files into a real graph:
before the fix, each one changed the graph without a word, or stopped with a
traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgrec.errors import DataValidationError
from kgrec.graph import GraphStore
from kgrec.loaders import ColumnMapping
from kgrec.settings import Settings
from tests.utils.loaders import rejects_of, run, write


def _raw(directory: Path, name: str, text: str) -> Path:
    """Write ``text`` byte for byte (no stripping: the cases are in the edges)."""
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def _seed(store: GraphStore, settings: Settings, tmp_path: Path, products: str) -> None:
    """Import ``products`` (a CSV text) as the graph a case then changes."""
    assert run(store, settings, {"products": write(tmp_path, "a.csv", products)}).exit_code == 0


def _shop(tmp_path: Path, events: str) -> dict[str, Path]:
    """Files of one product ``p1``, one user ``u1`` and ``events`` (a CSV text)."""
    return {
        "products": write(tmp_path, "p.csv", "id,title\np1,Shoe"),
        "users": write(tmp_path, "u.csv", "id\nu1"),
        "interactions": write(tmp_path, "e.csv", events),
    }


def _product(store: GraphStore, pid: str) -> dict[str, object]:
    return store.nodes_by_id("Product", [pid])[pid]


def test_a_delimiter_ending_every_row_shifts_no_column(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    path = _raw(tmp_path, "p.csv", "id,title,price\np1,Shoe,10,\np2,Boot,20,\n")
    assert run(store, settings, {"products": path}).counts["products"].created == 2
    assert _product(store, "p1")["title"] == "Shoe" and _product(store, "p2")["price"] == 20.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id,title,description,price\np1,Shoe\n", "data row 1 (line 2) has 2 fields"),
        ("id,title,price\np1,Shoe,10,x\np2,Boot\n", "2 row(s) do not have the header's 3"),
        ('id,title,price\np1,Shoe,10\np2,"Boot,20\np3,Hat,5\np4,"Cap",7\n', "stray quote"),
        ("id,title,price,price\np1,Shoe,10,12\n", "column(s) 'price' appear more than once"),
    ],
    ids=["short row", "long and short rows", "stray quote", "repeated column"],
)
def test_a_malformed_csv_is_refused_before_anything_is_written(
    store: GraphStore, settings: Settings, tmp_path: Path, text: str, expected: str
) -> None:
    full = write(tmp_path, "full.csv", "id,title,description,price\np1,Shoe,Nice,10")
    run(store, settings, {"products": full})
    brands = write(tmp_path, "brands.csv", "id,name\nacme,Acme")
    bad = _raw(tmp_path, "bad.csv", text)
    with pytest.raises(DataValidationError, match="nothing was written") as refused:
        run(store, settings, {"brands": brands, "products": bad})
    assert str(bad) in str(refused.value) and expected in str(refused.value)
    assert _product(store, "p1") == {
        "id": "p1",
        "title": "Shoe",
        "description": "Nice",
        "price": 10.0,
    }
    assert store.count_nodes()["Brand"] == 0  # the other file was not written either


def test_a_rejects_path_that_is_an_input_or_a_directory_is_refused(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    products = write(tmp_path, "p.csv", "id,title,price\np1,Shoe,10\np2,Boot,-1")
    with pytest.raises(DataValidationError, match="is an input of this import"):
        run(store, settings, {"products": products}, rejects=products)
    assert products.read_text(encoding="utf-8").startswith("id,title,price")  # still there
    with pytest.raises(DataValidationError, match="is a directory"):
        run(store, settings, {"products": products}, rejects=tmp_path)
    assert store.count_nodes()["Product"] == 0


def test_an_ignored_field_is_neither_set_nor_removed(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    _seed(store, settings, tmp_path, "id,title,description\np1,Shoe,Nice")
    blank = _raw(tmp_path, "b.csv", "id,title,description,price\np1,Shoe,,12\n")
    mapping = ColumnMapping.load(write(tmp_path, "m.toml", '[products]\nignore = ["description"]'))
    assert run(store, settings, {"products": blank}, mapping=mapping).exit_code == 0
    assert _product(store, "p1")["description"] == "Nice" and _product(store, "p1")["price"] == 12.0


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ('ignore = ["title"]', "ignore names 'title', the required field 'title'"),
        ('types = { price = "int" }', "types names 'price', the field 'price', whose type"),
    ],
)
def test_ignore_of_a_required_field_and_types_of_a_field_are_refused(
    store: GraphStore, settings: Settings, tmp_path: Path, section: str, expected: str
) -> None:
    products = write(tmp_path, "p.csv", "id,title,price\np1,Shoe,10")
    mapping = ColumnMapping.load(write(tmp_path, "m.toml", f"[products]\n{section}"))
    with pytest.raises(DataValidationError, match=expected):
        run(store, settings, {"products": products}, mapping=mapping)


@pytest.mark.parametrize("column", ["category_ids", "category_path"])
@pytest.mark.parametrize("cell", [" ", "|", " | "])
def test_a_category_cell_without_an_id_leaves_the_links(
    store: GraphStore, settings: Settings, tmp_path: Path, cell: str, column: str
) -> None:
    _seed(store, settings, tmp_path, "id,title,category_ids\np1,Shoe,a|b")
    again = _raw(tmp_path, "b.csv", f"id,title,{column}\np1,Shoe,{cell}\n")
    assert run(store, settings, {"products": again}).counts["products"].unchanged == 1
    assert store.count_relationships()["IN_CATEGORY"] == 2


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("price", "inf", "not a finite number"),
        ("price", "-inf", "not a finite number"),
        ("qty", "1e20", "out of the 64-bit integer range"),
        ("qty", "inf", "not a finite number"),
    ],
)
def test_non_finite_and_huge_numbers_reject_their_row(
    store: GraphStore, settings: Settings, tmp_path: Path, column: str, value: str, reason: str
) -> None:
    path = write(tmp_path, "p.csv", f"id,title,{column}\np1,Shoe,{value}\np2,Boot,1")
    typed = '[products]\ntypes = { qty = "int" }' if column == "qty" else ""
    mapping = ColumnMapping.load(write(tmp_path, "m.toml", typed))
    report = run(store, settings, {"products": path}, mapping=mapping)
    assert report.counts["products"].created == 1
    assert [(r["row"], r["column"], r["reason"].split(":")[0]) for r in rejects_of(report)] == [
        ("1", column, reason)
    ]


def test_integers_beyond_a_floats_precision_are_stored_exactly(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    rows = [
        ("p1", "9007199254740993"),  # 2**53 + 1: a float would store ...992
        ("p2", "9223372036854775807"),  # the largest int64
        ("p3", "-9223372036854775808"),  # the smallest
        ("p4", "9223372036854775808"),  # one past: refused
        ("p5", " +42 "),
        ("p6", "3.0"),
        ("p7", "3.5"),  # refused
    ]
    text = "id,title,qty\n" + "".join(f"{pid},Shoe,{qty}\n" for pid, qty in rows)
    mapping = ColumnMapping.load(write(tmp_path, "m.toml", '[products]\ntypes = { qty = "int" }'))
    report = run(store, settings, {"products": _raw(tmp_path, "p.csv", text)}, mapping=mapping)
    assert [(r["row"], r["reason"].split(":")[0]) for r in rejects_of(report)] == [
        ("4", "out of the 64-bit integer range"),
        ("7", "not an integer"),
    ]
    stored = {pid: _product(store, pid).get("qty") for pid, _ in rows if pid not in ("p4", "p7")}
    assert stored == {
        "p1": 9007199254740993,
        "p2": 9223372036854775807,
        "p3": -9223372036854775808,
        "p5": 42,
        "p6": 3,
    }
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text('{"id": "j1", "title": "Hat", "qty": 9007199254740993}\n', encoding="utf-8")
    run(store, settings, {"products": jsonl}, mapping=mapping)
    assert _product(store, "j1")["qty"] == 9007199254740993


@pytest.mark.parametrize("ts", ["1e20", "inf", "-1e19"])
def test_a_timestamp_out_of_range_rejects_its_row(
    store: GraphStore, settings: Settings, tmp_path: Path, ts: str
) -> None:
    files = _shop(tmp_path, f"user_id,product_id,kind,ts\nu1,p1,view,100\nu1,p1,view,{ts}")
    report = run(store, settings, files)  # type: ignore[arg-type]
    assert report.counts["interactions"].created == 1
    assert [r["reason"].split(":")[0] for r in rejects_of(report)] == ["not a timestamp"]


def test_text_attributes_are_checked_and_json_values_keep_their_type(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    limit = settings.loaders.max_text_chars
    csv_file = _raw(
        tmp_path,
        "p.csv",
        f"id,title,color,note\np1,Shoe,  red  ,ok\np2,Boot,   ,{'x' * (limit + 1)}\n",
    )
    report = run(store, settings, {"products": csv_file})
    assert report.counts["products"].created == 1
    assert [(r["row"], r["column"]) for r in rejects_of(report)] == [("2", "note")]
    assert _product(store, "p1")["color"] == "red"  # stripped
    lines = [
        {"id": "p3", "title": "Hat", "tags": ["a", "b"], "size": {"eu": 42}, "color": " blue "},
        {"id": "p4", "title": "Cap", "tags": 7, "color": "   "},
    ]
    jsonl = _raw(tmp_path, "p.jsonl", "".join(json.dumps(line) + "\n" for line in lines))
    assert run(store, settings, {"products": jsonl}).exit_code == 0
    hat, cap = _product(store, "p3"), _product(store, "p4")
    assert hat["tags"] == ["a", "b"] and hat["size"] == '{"eu": 42}' and hat["color"] == "blue"
    assert cap["tags"] == 7 and "color" not in cap


def test_a_category_cycle_closed_through_the_graph_is_rejected(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    tree = write(tmp_path, "c1.csv", "id,parent_id\na,\nb,a\nc,b")
    assert run(store, settings, {"categories": tree}).counts["categories"].created == 3
    loop = write(tmp_path, "c2.csv", "id,parent_id\na,c")
    report = run(store, settings, {"categories": loop})
    assert [r["reason"] for r in rejects_of(report)] == ["category cycle: 'a'"]
    parents = store.cypher(
        "MATCH (x:Category)-[:SUBCATEGORY_OF]->(p) RETURN x.id AS id, p.id AS parent ORDER BY id"
    )
    assert parents.to_dict("records") == [{"id": "b", "parent": "a"}, {"id": "c", "parent": "b"}]


@pytest.mark.parametrize("chunk_rows", [1, 50_000])
def test_a_repeated_interaction_takes_the_last_value_however_the_file_is_cut(
    store: GraphStore, settings: Settings, tmp_path: Path, chunk_rows: int
) -> None:
    events = "user_id,product_id,kind,ts,value\nu1,p1,rate,100,1\nu1,p1,rate,100,5\nu1,p1,rate,100,"
    files = _shop(tmp_path, events)
    chunked = settings.model_copy(
        update={"loaders": settings.loaders.model_copy(update={"import_chunk_rows": chunk_rows})}
    )
    report = run(store, chunked, files)  # type: ignore[arg-type]
    assert report.counts["interactions"].created == 1 and report.rejected == 0
    values = store.cypher("MATCH ()-[i:INTERACTED]->() RETURN i.value AS value")
    assert values["value"].tolist() == [5.0]


def test_rejected_json_rows_keep_keys_first_seen_in_a_later_chunk(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    lines = [
        {"id": "p1", "title": "Shoe", "price": -1},
        {"id": "p2", "title": "Hat", "price": -2, "color": "red"},
    ]
    path = _raw(tmp_path, "p.jsonl", "".join(json.dumps(line) + "\n" for line in lines))
    chunked = settings.model_copy(
        update={"loaders": settings.loaders.model_copy(update={"import_chunk_rows": 1})}
    )
    report = run(store, chunked, {"products": path})
    rows = rejects_of(report)
    assert [(r["id"], r["color"]) for r in rows] == [("p1", ""), ("p2", "red")]


def test_a_large_json_id_stays_exact_and_a_bad_line_is_named(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    big = _raw(
        tmp_path, "p.jsonl", '{"id": 9007199254740993, "title": "A"}\n{"id": null, "title": "B"}\n'
    )
    assert run(store, settings, {"products": big}).counts["products"].created == 1
    assert store.existing_ids("Product", ["9007199254740993"]) == {"9007199254740993"}
    for text, expected in (
        (
            '{"id": "p1", "title": "A"}\n\n{"id": "p2", "title": "B"\n',
            "line 3, column 27: not valid",
        ),
        ('{"id": "p1", "title": "A"}\n["p2", "B"]\n', "line 2: each line must be one JSON object"),
    ):
        with pytest.raises(DataValidationError, match=expected):
            run(store, settings, {"products": _raw(tmp_path, "bad.jsonl", text)})


def test_a_trailing_delimiter_on_a_later_row_only_is_refused_before_writing(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    """A trailing empty field is dropped only when the first data row has one (pandas)."""
    path = _raw(tmp_path, "p.csv", "id,title\np1,Shoe\np2,Boot,\n")
    with pytest.raises(DataValidationError, match=r"data row 2 \(line 3\) has 3 fields"):
        run(store, settings, {"products": path})
    assert store.count_nodes()["Product"] == 0


def test_files_pandas_reads_well_pass_the_shape_check(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    """A header ending with a delimiter, a blank line of spaces, a long quoted value."""
    long = "word " * 40_000  # past the csv module's default field limit (131,072)
    text = f'id,title,description,\np1,Shoe,"{long}\nsecond line",\n   \np2,Boot,,\n'
    path = _raw(tmp_path, "p.csv", text)
    limits = settings.loaders.model_copy(update={"max_text_chars": 1_000_000})
    report = run(store, settings.model_copy(update={"loaders": limits}), {"products": path})
    assert report.counts["products"].created == 2 and not report.messages, report.messages
    shoe = _product(store, "p1")
    assert set(shoe) == {"id", "title", "description"}  # no "Unnamed: 3" attribute
    assert str(shoe["description"]).endswith("second line")
    nameless = _raw(tmp_path, "q.csv", "id,,title\np1,x,Shoe\n")
    with pytest.raises(DataValidationError, match=r"column\(s\) 2 have no name"):
        run(store, settings, {"products": nameless})


def test_json_values_a_graph_property_cannot_hold_become_json_text(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    lines = [
        {"id": "p1", "title": "A", "a": ["x", None], "b": [1, "x"], "c": [[1]], "d": [1, 2.5]},
        {"id": "p2", "title": "B", "a": [{"k": 1}], "category_ids": []},
        {"id": "p3", "title": "C", "b": float("inf")},
    ]
    path = _raw(tmp_path, "p.jsonl", "".join(json.dumps(line) + "\n" for line in lines))
    report = run(store, settings, {"products": path})
    assert report.counts["products"].created == 2
    assert [(r["id"], r["reason"].split(":")[0]) for r in rejects_of(report)] == [
        ("p3", "not a finite number")
    ]
    one, two = _product(store, "p1"), _product(store, "p2")
    assert (one["a"], one["b"], one["c"], one["d"]) == (
        '["x", null]',
        '[1, "x"]',
        "[[1]]",
        [1.0, 2.5],
    )
    assert two["a"] == '[{"k": 1}]'


def test_an_empty_json_category_list_clears_the_links(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    _seed(store, settings, tmp_path, "id,title,category_ids\np1,Shoe,a|b")
    cleared = _raw(tmp_path, "b.jsonl", '{"id": "p1", "title": "Shoe", "category_ids": []}\n')
    assert run(store, settings, {"products": cleared}).counts["products"].updated == 1
    assert store.count_relationships().get("IN_CATEGORY", 0) == 0


def test_a_file_with_a_column_named_like_a_rejects_column_is_imported(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    """Its rejected rows keep that column as ``original reason`` (the import crashed)."""
    path = write(tmp_path, "p.csv", "id,title,price,reason,row\np1,Shoe,-1,sale,7\np2,Boot,2,new,8")
    report = run(store, settings, {"products": path})
    assert report.counts["products"].created == 1 and report.rejected == 1
    (reject,) = rejects_of(report)
    assert reject["reason"].startswith("negative price") and reject["row"] == "1"
    assert (reject["original reason"], reject["original row"]) == ("sale", "7")
    assert _product(store, "p2")["reason"] == "new"
