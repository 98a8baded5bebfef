"""Encodings: --encoding, a byte that does not decode, and what was written before it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kgrec.errors import DataValidationError
from kgrec.graph import GraphStore
from kgrec.loaders import ChunkReader, ColumnMapping, ImportFailed
from kgrec.settings import Settings
from tests.utils.loaders import invoke, run, write
from tests.utils.settings import make_settings

ROWS = 200
BAD_ROW = 150
CHUNK_ROWS = 40


def test_a_latin1_file_needs_its_encoding(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    path = write(tmp_path, "products.csv", "id,title\np1,Plain\np2,Crème brûlée", "latin-1")
    offset = path.read_bytes().index("è".encode("latin-1"))

    result = invoke(settings, "import", "--products", str(path))
    assert result.exit_code == 1
    message = str(result.exception)
    assert message.startswith(f"{path}: row 2, byte offset {offset}: cannot decode 0xe8 as utf-8")
    assert "--encoding" in message and "cp1252" in message
    assert store.count_nodes()["Product"] == 0  # the error came before the write

    result = invoke(settings, "import", "--products", str(path), "--encoding", "latin-1")
    assert result.exit_code == 0, result.output
    assert store.nodes_by_id("Product", ["p2"])["p2"]["title"] == "Crème brûlée"

    store.delete_all()
    mapping = write(tmp_path, "m.toml", '[products]\nencoding = "cp1252"')
    report = run(store, settings, {"products": path}, mapping=ColumnMapping.load(mapping))
    assert report.exit_code == 0
    assert store.nodes_by_id("Product", ["p2"])["p2"]["title"] == "Crème brûlée"


def _late_bad_byte(tmp_path: Path) -> tuple[Path, int]:
    """A UTF-8 products file with one latin-1 byte at data row BAD_ROW."""
    lines = ["id,title"] + [f"p{i},Product number {i}" for i in range(1, ROWS + 1)]
    lines[BAD_ROW] = f"p{BAD_ROW},Caf\xe9 {BAD_ROW}"
    data = b"\n".join(line.encode("latin-1") for line in lines) + b"\n"
    path = tmp_path / "products.csv"
    path.write_bytes(data)
    return path, data.index(b"\xe9")


def test_a_bad_byte_in_a_late_chunk_names_row_and_offset_after_the_summary(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    path, offset = _late_bad_byte(tmp_path)
    env = {"KGREC_LOADERS__IMPORT_CHUNK_ROWS": str(CHUNK_ROWS)}
    written = (BAD_ROW - 1) // CHUNK_ROWS * CHUNK_ROWS  # the chunks before the bad one

    result = invoke(settings, "import", "--products", str(path), env=env)
    assert result.exit_code == 1
    assert isinstance(result.exception, ImportFailed)
    assert str(result.exception).startswith(f"{path}: row {BAD_ROW}, byte offset {offset:,}: ")
    assert "stopped at an error" in result.output
    assert f"products: {written} rows, {written} created, 0 updated" in result.output
    assert store.count_nodes()["Product"] == written

    store.delete_all()
    result = invoke(settings, "import", "--products", str(path), "--strict", env=env)
    assert result.exit_code == 1
    assert str(result.exception).startswith(f"{path}: row {BAD_ROW}, byte offset {offset:,}: ")
    assert "nothing was written" in result.output
    assert store.count_nodes()["Product"] == 0


def test_a_bad_byte_inside_a_quoted_multiline_cell(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    data = 'id,title,description\np1,One,"two\nlines"\np2,Two,"bad \xff here"\n'.encode("latin-1")
    path = tmp_path / "p.csv"
    path.write_bytes(data)
    offset = data.index(b"\xff")
    where = rf"^{re.escape(str(path))}: row 2, byte offset {offset}: "
    with pytest.raises(ImportFailed, match=where):
        run(store, settings, {"products": path})


def test_json_lines_rows_count_from_the_first_line(tmp_path: Path) -> None:
    data = '{"id": "p1", "title": "A"}\n\n{"id": "p2", "title": "Cr\xe8me"}\n'.encode("latin-1")
    path = tmp_path / "p.jsonl"
    path.write_bytes(data)
    offset = data.index(b"\xe8")
    with pytest.raises(DataValidationError, match=rf": row 2, byte offset {offset}: "):
        list(ChunkReader(path, 10).chunks())
    frames = list(ChunkReader(path, 10, encoding="latin-1").chunks())
    assert frames[0]["title"].tolist() == ["A", "Crème"]


def test_a_short_row_before_a_bad_byte_is_refused_before_anything_is_written(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    """The shape check reads on past a byte that does not decode (it stopped there, silent)."""
    seed = write(tmp_path, "seed.csv", "id,title,description,price\np1,Shoe,Nice,10")
    run(store, settings, {"products": seed})
    path = tmp_path / "products.csv"
    path.write_bytes(b"id,title,description,price\np1,Shoe\np2,Boot,d,1\np3,Caf\xe9,d,1\n")
    chunked = make_settings(settings.data_dir, loaders={"import_chunk_rows": 2})
    refused = r"1 row\(s\) do not have the header's 4 fields: data row 1 \(line 2\)"
    with pytest.raises(DataValidationError, match=refused):
        run(store, chunked, {"products": path})
    assert store.nodes_by_id("Product", ["p1", "p2"]) == {
        "p1": {"id": "p1", "title": "Shoe", "description": "Nice", "price": 10.0}
    }
