"""CSV delimiters: detected on the header, set in the mapping or with --delimiter."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgrec.errors import DataValidationError
from kgrec.graph import GraphStore
from kgrec.loaders import ColumnMapping
from kgrec.settings import Settings
from tests.utils.loaders import invoke, run, write


def test_a_semicolon_file_is_detected(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    path = write(tmp_path, "p.csv", "id;title;price\np1;Shoe, red;10,5\np2;Boot;3")
    report = run(store, settings, {"products": path})
    assert report.exit_code == 3  # '10,5' is not a number: the columns were split right
    props = store.nodes_by_id("Product", ["p2"])["p2"]
    assert (props["title"], props["price"]) == ("Boot", 3.0)


def test_delimiter_in_the_mapping_and_on_the_command_line(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    # As many commas as semicolons in the header: detection would take the comma.
    path = write(tmp_path, "p.csv", "id;title;size, cm;weight, g\np1;Shoe;42;300")
    mapping = write(tmp_path, "m.toml", '[products]\ndelimiter = ";"')
    report = run(store, settings, {"products": path}, mapping=ColumnMapping.load(mapping))
    assert report.exit_code == 0
    assert store.nodes_by_id("Product", ["p1"])["p1"]["size, cm"] == "42"

    store.delete_all()
    result = invoke(settings, "import", "--products", str(path), "--delimiter", ";")
    assert result.exit_code == 0, result.output
    assert store.nodes_by_id("Product", ["p1"])["p1"]["weight, g"] == "300"


def test_a_header_read_as_one_joined_column_is_an_error(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    path = write(tmp_path, "p.csv", "id;title;price\np1;Shoe;10")
    result = invoke(settings, "import", "--products", str(path), "--delimiter", ",")
    assert result.exit_code == 1
    message = str(result.exception)
    assert "the header is one column named 'id;title;price'" in message
    assert "looks ';' (semicolon)-delimited" in message and "--delimiter ';'" in message

    quoted = write(tmp_path, "q.csv", '"id;title;price"\n"p1;Shoe;10"')
    with pytest.raises(DataValidationError, match="one column named 'id;title;price'"):
        run(store, settings, {"products": quoted})
    assert store.count_nodes()["Product"] == 0
