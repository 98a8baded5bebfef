"""``kgrec --help`` and every subcommand's help: complete at 80 columns, nothing cut off."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperGroup, TyperOption
from typer.testing import CliRunner

from kgrec.api.cli import app
from kgrec.api.cli.importing import MAPPING_HELP
from kgrec.loaders import ColumnMapping

WIDTH = 80
BOX = re.compile(r"[│╭╮╰╯─]")


Walked = list[tuple[tuple[str, ...], Any]]  # typer's click commands (vendored click)


def _walk(command: Any, path: tuple[str, ...]) -> Walked:
    found: Walked = [(path, command)]
    if isinstance(command, TyperGroup):
        for name, sub in sorted(command.commands.items()):
            found += _walk(sub, (*path, name))
    return found


COMMANDS = _walk(typer.main.get_group(app), ())


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(WIDTH)})
    assert result.exit_code == 0, result.output
    return result.output


def _words(text: str) -> list[str]:
    """The words of a help text as the rich help prints them (markup escapes undone)."""
    return text.replace("\\[", "[").replace("\b", "").split()


def _flat(output: str) -> str:
    return " ".join(BOX.sub(" ", output).split())


def test_every_command_is_walked() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    for expected in ("import", "serve", "graph start", "dataset fetch", "cypher", "demo"):
        assert expected in names


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(p) or "kgrec" for p, _ in COMMANDS]
)
def test_help_is_complete_at_80_columns(path: tuple[str, ...], command: Any) -> None:
    output = _help(path)
    for line in output.splitlines():
        assert len(line) <= WIDTH, f"longer than {WIDTH} columns: {line!r}"
    assert "…" not in output, f"help cut off (…):\n{output}"
    flat = _flat(output)
    for word in _words(command.help or ""):
        assert word in flat, f"{word!r} of the command's help is missing:\n{output}"
    for param in command.params:
        for opt in (*param.opts, *param.secondary_opts):
            shown = opt if opt.startswith("-") else opt.lower()
            assert shown in flat, f"{opt} is missing:\n{output}"
        for word in _words(getattr(param, "help", None) or ""):
            assert word in flat, f"{word!r} of {param.name}'s help is missing:\n{output}"
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            assert name in flat
            for word in _words((sub.help or "").split("\n\n")[0]):
                assert word in flat, f"{word!r} of {name}'s summary is missing:\n{output}"


def test_every_option_has_a_help_text() -> None:
    for path, command in COMMANDS:
        for param in command.params:
            if isinstance(param, TyperOption):
                assert param.help, f"kgrec {' '.join(path)} {param.opts[0]} has no help text"


def test_import_help_shows_the_mapping_file_format() -> None:
    output = _help(("import",))
    for needed in (
        "[products]",
        "[interactions]",
        "rename = {",
        "keep = [",
        "ignore = [",
        "types = {",
        'encoding = "cp1252"',
        "delimiter",
        "category_separator",
        "kinds = {",
    ):
        assert needed in output, f"{needed!r} missing from kgrec import --help:\n{output}"


def test_the_mapping_example_in_import_help_loads(tmp_path: Path) -> None:
    example = MAPPING_HELP.split("\b\n", 1)[1].split("\n\n", 1)[0]
    path = tmp_path / "mapping.toml"
    path.write_text(example.replace("\\[", "["), encoding="utf-8")
    mapping = ColumnMapping.load(path)
    products = mapping.section("products")
    assert products.rename["Avg Stars"] == "avg_stars" and products.keep == ["color", "avg_stars"]
    assert (products.encoding, products.delimiter) == ("cp1252", ";")
    assert mapping.section("interactions").kinds["order"] == "purchase"


README = Path(__file__).resolve().parents[3] / "README.md"


def _readme_section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_the_readme_cli_reference_lists_every_command_once() -> None:
    section = _readme_section("CLI reference")
    listed = re.findall(r"^\| `kgrec ([a-z -]+)` \|", section, re.M)
    leaves = [" ".join(p) for p, c in COMMANDS if p and not isinstance(c, TyperGroup)]
    assert sorted(listed) == sorted(leaves), "README.md's CLI reference differs from kgrec --help"


def test_the_readme_mapping_example_loads(tmp_path: Path) -> None:
    blocks = re.findall(r"^```toml\n(.*?)^```$", _readme_section("CLI reference"), re.M | re.S)
    assert len(blocks) == 1, "README.md's CLI reference should hold one ```toml mapping example"
    path = tmp_path / "mapping.toml"
    path.write_text(blocks[0], encoding="utf-8")
    mapping = ColumnMapping.load(path)
    products = mapping.section("products")
    assert products.rename["Avg Stars"] == "avg_stars" and products.types == {"avg_stars": "float"}
    assert (products.category_separator, products.list_separator) == (" / ", "|")
    assert mapping.section("interactions").kinds["add_to_cart"] == "cart"
