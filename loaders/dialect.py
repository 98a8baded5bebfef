"""CSV delimiters: given (``--delimiter``, ``delimiter`` in the mapping) or detected.

Detection counts the candidate delimiters outside double quotes on the header
line and takes the most frequent (ties go to the suffix's default: tab for
``.tsv``/``.txt``, comma otherwise). A header that still parses as one column
whose name holds another candidate (``id;title;price`` read with ``,``) is an
error that says which delimiter the file seems to use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from kgrec.errors import DataValidationError

CANDIDATES: Final = (",", ";", "\t", "|")
_NAMES: Final = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_ALIASES: Final = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
_HEAD_BYTES: Final = 1 << 16


def parse_delimiter(text: str, *, where: str) -> str:
    r"""Parse one delimiter character, or a tab, comma, semicolon or pipe by name.

    ``\t`` and ``tab`` both mean a tab.

    Raises:
        DataValidationError: not a single character; ``where`` says who gave it.
    """
    value = _ALIASES.get(text.lower(), text)
    if len(value) != 1 or value in ('"', "\n", "\r"):
        raise DataValidationError(
            f"{where}: delimiter {text!r} is not one character; use e.g. ',', ';', '|' or '\\t'"
        )
    return value


def describe(delimiter: str) -> str:
    """``';' (semicolon)`` for messages."""
    name = _NAMES.get(delimiter)
    shown = "\\t" if delimiter == "\t" else delimiter
    return f"'{shown}' ({name})" if name else f"'{shown}'"


def default_delimiter(path: Path) -> str:
    """Tab for ``.tsv`` / ``.txt``, comma otherwise."""
    return "," if path.suffix.lower() == ".csv" else "\t"


def count_outside_quotes(line: str) -> dict[str, int]:
    """How often each candidate delimiter occurs outside double quotes."""
    counts = dict.fromkeys(CANDIDATES, 0)
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    return counts


def detect_delimiter(path: Path, encoding: str) -> str | None:
    """The delimiter of the header line, or None when it has none (one column).

    Undecodable bytes are replaced here; reading the header reports them.
    """
    with path.open("rb") as f:
        head = f.read(_HEAD_BYTES)
    text = head.decode(encoding, errors="replace").lstrip("\ufeff")
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    counts = count_outside_quotes(line)
    best = max(counts.values())
    if best == 0:
        return None
    default = default_delimiter(path)
    if counts[default] == best:
        return default
    return next(c for c in CANDIDATES if counts[c] == best)


def check_joined_header(path: Path, columns: list[str], delimiter: str, entity: str) -> None:
    """Raise when the header parsed as one column holding another candidate delimiter."""
    if len(columns) != 1:
        return
    counts = count_outside_quotes(columns[0])
    others = [c for c in CANDIDATES if c != delimiter and counts[c]]
    if not others:
        return
    likely = max(others, key=lambda c: counts[c])
    shown = "\\t" if likely == "\t" else likely
    raise DataValidationError(
        f"{path}: row 0 (header): the header is one column named {columns[0]!r}: the file "
        f"is read with the delimiter {describe(delimiter)} but looks {describe(likely)}-"
        f"delimited; pass --delimiter '{shown}' or set delimiter = \"{shown}\" in the "
        f"mapping's [{entity}] section"
    )
