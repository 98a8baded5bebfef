"""The README's tables of every ``KGREC_*`` setting, generated from :class:`Settings`.

The table is written between :data:`BEGIN` and :data:`END` in README.md and
checked by ``tests/kgrec/test_settings_doc.py``, so it cannot drift from the
code. After adding or changing a setting::

    .venv/bin/python -m kgrec.settings_doc --write README.md   # rewrite the block
    .venv/bin/python -m kgrec.settings_doc                     # print the table
"""

from __future__ import annotations

import argparse
import enum
import sys
import typing
from collections.abc import Sequence
from pathlib import Path

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from kgrec.errors import ConfigError
from kgrec.settings import Settings
from kgrec.settings_sources import LEGACY_NAMES, env_name, section_fields

BEGIN = "<!-- settings-table:begin -->"
END = "<!-- settings-table:end -->"
GLOBAL_TITLE = "Global"
"""The title of the table of the settings outside any section."""


def _former_names() -> dict[str, str]:
    """New variable -> its old flat name (both still work)."""
    return {env_name(*new): env_name(old) for old, new in LEGACY_NAMES.items()}


Row = tuple[tuple[str, ...], FieldInfo]
"""One setting: its path (``("graph", "write_batch_size")``, ``("data_dir",)``) and field."""


def settings_rows(settings_cls: type[BaseSettings] = Settings) -> list[tuple[str, list[Row]]]:
    """The settings by group: (title, rows), the global ones first.

    A section's title is its field's description; fields in declaration order.
    """
    flat: list[Row] = []
    groups: list[tuple[str, list[Row]]] = [(GLOBAL_TITLE, flat)]
    for name, info in settings_cls.model_fields.items():
        fields = section_fields(info.annotation)
        if fields is None:
            flat.append(((name,), info))
        else:
            title = (info.description or name).rstrip(".")
            groups.append((title, [((name, f), sub) for f, sub in fields.items()]))
    return groups


def _code(text: str) -> str:
    """``text`` as a Markdown code span that survives a table cell."""
    shown = f'"{text}"' if text != text.strip() or not text else text
    return "`" + shown.replace("|", "\\|") + "`"


def default_text(info: FieldInfo) -> str:
    """The default as a user would set it in the environment (``unset`` for None)."""
    value = info.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return _code("true" if value else "false")
    if isinstance(value, enum.Enum):
        value = value.value
    return _code(str(value))


def _choices(annotation: object) -> tuple[str, ...]:
    """The values of a ``Literal`` setting (also inside ``X | None``), else empty.

    ``bool | Literal[...]`` adds ``true`` and ``false``.
    """
    if typing.get_origin(annotation) is typing.Literal:
        return tuple(str(a) for a in typing.get_args(annotation))
    args = typing.get_args(annotation)
    for arg in args:
        found = _choices(arg)
        if found:
            return found + (("true", "false") if bool in args else ())
    return ()


def _markdown(text: str) -> str:
    """Escape plain text for a table cell.

    ``|`` is escaped everywhere, ``<`` ``>`` outside code spans (GitHub would read
    ``<data_dir>`` as an HTML tag and drop it).
    """
    parts = text.replace("|", "\\|").split("`")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


def description_text(info: FieldInfo) -> str:
    """The field's description, one line, with its choices for a ``Literal``."""
    text = _markdown(" ".join((info.description or "").split()))
    choices = _choices(info.annotation)
    if choices:
        text += f" One of: {', '.join(_code(c) for c in choices)}."
    return text.strip()


def settings_table(settings_cls: type[BaseSettings] = Settings) -> str:
    """Every ``KGREC_*`` setting with its default and description, as Markdown.

    One table for the global settings and one per section, in declaration order;
    a setting that had an old flat name says so.

    Args:
        settings_cls: the settings class to document (kgrec's own by default).

    Raises:
        ConfigError: a setting has no description (every one must say what it does).
    """
    groups = settings_rows(settings_cls)
    missing = [".".join(path) for _, rows in groups for path, info in rows if not info.description]
    if missing:
        raise ConfigError(
            f"settings without a description: {', '.join(missing)}; give each a "
            "Field(description=...) in kgrec/settings.py or kgrec/settings_sections.py "
            "(gnn: gnn/config.py)"
        )
    former = _former_names()
    lines: list[str] = []
    for title, rows in groups:
        if lines:
            lines.append("")
        lines += [f"**{title}**", "", "| variable | default | meaning |", "| --- | --- | --- |"]
        for path, info in rows:
            var = env_name(*path)
            meaning = description_text(info)
            if var in former:
                meaning += f" Formerly `{former[var]}`."
            lines.append(f"| `{var}` | {default_text(info)} | {meaning} |")
    return "\n".join(lines) + "\n"


def replace_block(text: str, table: str) -> str:
    """``text`` with the lines between :data:`BEGIN` and :data:`END` replaced by ``table``.

    Raises:
        ConfigError: the markers are missing or out of order.
    """
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ConfigError(f"no settings block in the file: add the lines\n{BEGIN}\n{END}")
    head = text[: start + len(BEGIN)]
    return f"{head}\n{table}{text[end:]}"


def block_of(text: str) -> str:
    """What stands between the markers (the table as the file has it)."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ConfigError(f"no settings block in the file: add the lines\n{BEGIN}\n{END}")
    return text[start + len(BEGIN) : end].lstrip("\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table, or rewrite it in a file (``--write README.md``)."""
    parser = argparse.ArgumentParser(
        prog="python -m kgrec.settings_doc", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--write", type=Path, help="rewrite the block between the markers")
    args = parser.parse_args(argv)
    table = settings_table()
    if args.write is None:
        sys.stdout.write(table)
        return 0
    path: Path = args.write
    before = path.read_text(encoding="utf-8")
    after = replace_block(before, table)
    if after != before:
        path.write_text(after, encoding="utf-8")
    print(f"{path}: settings table {'updated' if after != before else 'already up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
