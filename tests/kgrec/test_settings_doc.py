"""The README's settings table is the one generated from Settings, so it cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import Field

from kgrec.errors import ConfigError
from kgrec.settings import Settings
from kgrec.settings_doc import (
    BEGIN,
    END,
    block_of,
    main,
    replace_block,
    settings_rows,
    settings_table,
)
from kgrec.settings_sources import env_name

README = Path(__file__).resolve().parents[2] / "README.md"
REGENERATE = ".venv/bin/python -m kgrec.settings_doc --write README.md"


def test_the_readme_table_is_the_generated_one() -> None:
    shown = block_of(README.read_text(encoding="utf-8"))
    assert shown == settings_table(), f"README.md's settings table is stale: run `{REGENERATE}`"


def test_every_setting_has_one_row_with_its_default() -> None:
    table = settings_table()
    rows = re.findall(r"^\| `(KGREC_[A-Z0-9_]+)` \| (.+?) \| (.+) \|$", table, re.M)
    every = [env_name(*path) for _, group in settings_rows() for path, _ in group]
    assert [name for name, _, _ in rows] == every
    assert "KGREC_GNN__HIDDEN_DIM" in every and "KGREC_GNN" not in every  # sections expanded
    by_name = {name: default for name, default, _ in rows}
    assert by_name["KGREC_DATA_DIR"] == "`.kgrec`"
    assert by_name["KGREC_GRAPH__NEO4J_URI"] == "unset"
    assert by_name["KGREC_SERVING__API_PORT"] == "`8000`"
    assert by_name["KGREC_SERVING__RANKER"] == "`true`"
    assert by_name["KGREC_LOADERS__CATEGORY_SEPARATOR"] == '`" > "`'
    assert by_name["KGREC_LOADERS__LIST_SEPARATOR"] == "`\\|`"  # a pipe would split the cell


def test_choices_and_angle_brackets_survive_markdown() -> None:
    table = settings_table()
    assert "One of: `hnsw`, `ivf`, `ivf_sq8`." in table
    assert "One of: `auto`, `true`, `false`." in table  # bool | Literal["auto"]
    assert "&lt;data_dir&gt;/datasets" in table  # <data_dir> would vanish as an HTML tag


def test_a_setting_without_a_description_is_refused() -> None:
    class Undocumented(Settings):
        shiny: int = Field(1)

    with pytest.raises(ConfigError, match="settings without a description: shiny"):
        settings_table(Undocumented)


def test_the_block_is_rewritten_between_the_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\n{BEGIN}\nold table\n{END}\n\nafter\n", encoding="utf-8")
    assert main(["--write", str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert block_of(text) == settings_table()
    assert text.startswith("# title\n\n") and text.endswith(f"{END}\n\nafter\n")
    assert replace_block(text, settings_table()) == text  # a second run changes nothing


def test_a_file_without_markers_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no settings block"):
        replace_block("# no markers\n", "table")
