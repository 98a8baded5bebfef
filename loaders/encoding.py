"""Text encodings of import files: checking a name, and locating a byte that does not decode.

Readers decode with the encoding the user gave (``--encoding``, or ``encoding`` in
the mapping section), UTF-8 by default (a byte-order mark is skipped). When a
byte does not decode, :func:`decode_error` rescans the file up to that byte to
name the data row and the byte offset exactly (pandas reports neither), and
suggests what the file probably is.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from kgrec.errors import DataValidationError

DEFAULT_ENCODING = "utf-8"
_PREVIEW_CHARS = 30
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_UTF32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)


def check_encoding(name: str, *, where: str) -> str:
    """The canonical codec name of ``name`` (``latin-1`` -> ``iso8859-1``).

    Raises:
        DataValidationError: no codec of that name; ``where`` says who gave it.
    """
    try:
        return codecs.lookup(name).name
    except LookupError as e:
        raise DataValidationError(
            f"{where}: unknown encoding {name!r}; use a Python codec name such as "
            "utf-8, cp1252, latin-1, cp1250, cp1251, utf-16, shift_jis"
        ) from e


@dataclass(frozen=True)
class DecodeLocation:
    """Where a file first fails to decode.

    Attributes:
        row: data row (1 = the first row after the header, 0 = the header).
        byte: offset of the first bad byte from the start of the file (0-based).
        bad: the bytes that do not decode.
        reason: the codec's reason.
        preview: the text around the bad byte (undecodable bytes shown as U+FFFD).
    """

    row: int
    byte: int
    bad: bytes
    reason: str
    preview: str


def locate_decode_error(path: Path, encoding: str, *, csv: bool) -> DecodeLocation | None:
    """Scan ``path`` line by line; the first byte ``encoding`` cannot decode, or None.

    Rows are counted as a reader counts them: blank lines are skipped; in a CSV
    file (``csv``) the first row is the header (row 0) and a line break inside
    double quotes continues the row; in JSON Lines the first line is row 1.
    """
    codec = codecs.lookup(encoding).name
    if "\n".encode(codec) != b"\n":  # UTF-16 / UTF-32: no line-by-line scan
        return _locate_whole(path, codec, csv=csv)
    record = -1 if csv else 0  # the number of the row being read
    quotes = 0
    offset = 0
    with path.open("rb") as f:
        for raw in f:
            skip = len(codecs.BOM_UTF8) if offset == 0 and raw.startswith(codecs.BOM_UTF8) else 0
            line = raw[skip:] if codec == "utf-8" else raw
            base = offset + len(raw) - len(line)
            try:
                text = line.decode(codec)
            except UnicodeDecodeError as e:
                if quotes % 2 == 0:
                    record += 1
                preview = line[: e.start].decode(codec, errors="replace")
                chars = len(preview)
                preview += line[e.start :].decode(codec, errors="replace")
                return DecodeLocation(
                    record,
                    base + e.start,
                    line[e.start : e.end],
                    e.reason,
                    _around(preview.rstrip("\r\n"), chars),
                )
            if quotes % 2 == 0 and text.strip():
                record += 1
            if csv:
                quotes += text.count('"')
            offset += len(raw)
    return None


def _locate_whole(path: Path, codec: str, *, csv: bool) -> DecodeLocation | None:
    data = path.read_bytes()
    try:
        data.decode(codec)
    except UnicodeDecodeError as e:
        before = data[: e.start].decode(codec, errors="replace")
        complete = [r for r in before.split("\n")[:-1] if r.strip()]  # the CSV header first
        row = len(complete) + (0 if csv else 1)
        preview = before.rsplit("\n", 1)[-1][-_PREVIEW_CHARS:]
        return DecodeLocation(row, e.start, data[e.start : e.end], e.reason, preview)
    return None


def _around(text: str, position: int) -> str:
    start = max(0, position - _PREVIEW_CHARS // 2)
    piece = text[start : start + _PREVIEW_CHARS]
    return ("..." if start else "") + piece + ("..." if start + _PREVIEW_CHARS < len(text) else "")


def suggest_encoding(path: Path, location: DecodeLocation, encoding: str) -> str:
    """Advice for the message: what the file probably is, and how to say so."""
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith(_UTF32_BOMS):
        return f"the file starts with a UTF-32 byte-order mark: {_how('utf-32')}"
    if head.startswith(_UTF16_BOMS):
        return f"the file starts with a UTF-16 byte-order mark: {_how('utf-16')}"
    if codecs.lookup(encoding).name != "utf-8":
        return f"the file is not {encoding}: {_how('NAME')} with the encoding it was written in"
    try:
        location.bad.decode("cp1252")
    except UnicodeDecodeError:
        return f"the file is not UTF-8: {_how('NAME')} with the encoding it was written in"
    return (
        "the file is not UTF-8; an export from Excel or Windows in Western Europe is "
        f"usually cp1252 (a superset of latin-1): {_how('cp1252')}; other languages "
        "have their own (cp1250, cp1251, shift_jis, ...)"
    )


def _how(name: str) -> str:
    return f'pass --encoding {name} (or set encoding = "{name}" in this file\'s mapping section)'


def decode_error(path: Path, encoding: str, *, csv: bool, cause: str) -> DataValidationError:
    """The error for a file that does not decode: file, row, byte offset, bytes, hint.

    ``cause`` is the decoder's own message, used when the rescan finds nothing
    (a reader that failed for another reason).
    """
    location = locate_decode_error(path, encoding, csv=csv)
    if location is None:
        return DataValidationError(f"{path}: cannot decode as {encoding}: {cause}")
    row = "row 0 (header)" if csv and location.row == 0 else f"row {location.row}"
    bad = " ".join(f"0x{b:02x}" for b in location.bad)
    return DataValidationError(
        f"{path}: {row}, byte offset {location.byte:,}: cannot decode {bad} as {encoding} "
        f"({location.reason}) near {location.preview!r}; "
        f"{suggest_encoding(path, location, encoding)}"
    )
