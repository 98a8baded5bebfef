"""The shape of a delimited file, checked before anything of an import is written.

pandas' CSV parser reads a malformed file without a word: a row with fewer fields
than the header gets empty cells (which remove the product's properties), a
stray quote swallows the rows after it into one cell, and a repeated column name
becomes ``name.1``. :func:`check_delimited` reads the file once with Python's
:mod:`csv` module in strict mode and refuses such a file, naming its lines. One
empty field past the header's (a delimiter at the end of each row, a common
export quirk) is allowed: the readers drop it (``index_col=False``).
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Final

from kgrec.errors import DataValidationError

_SHOWN: Final = 5
"""Bad rows an error names (then a count of the others)."""


def check_delimited(path: Path, sep: str, encoding: str) -> None:
    """Refuse a delimited file whose rows do not all have the header's fields.

    Blank lines are skipped, as the readers skip them. A file that does not
    decode is left to the readers, whose error names the byte.

    Raises:
        DataValidationError: a repeated column name, a quote inside an unquoted
            field or after a closing quote, or rows with more or fewer fields
            than the header (the first few named by data row and line).
    """
    bad: list[str] = []
    count = 0
    codec = "utf-8-sig" if encoding.replace("_", "-").lower() in ("utf-8", "utf8") else encoding
    try:
        with path.open(encoding=codec, newline="") as f:
            reader = csv.reader(f, delimiter=sep, strict=True)
            header: list[str] | None = None
            row = 0
            for record in reader:
                if not record:
                    continue
                if header is None:
                    header = record
                    _check_header(path, header)
                    continue
                row += 1
                if _fits(record, len(header)):
                    continue
                count += 1
                if len(bad) < _SHOWN:
                    bad.append(f"data row {row} (line {reader.line_num}) has {len(record)} fields")
    except UnicodeDecodeError:
        return
    except csv.Error as e:
        raise DataValidationError(
            f"{path}: line {reader.line_num}: {e}: a quote inside a field that is not "
            "quoted as a whole, or a stray quote that runs on into the rows after it; "
            "quote the whole field and double each quote inside it; nothing was written"
        ) from e
    if count:
        more = f", and {count - len(bad):,} more" if count > len(bad) else ""
        assert header is not None
        raise DataValidationError(
            f"{path}: {count:,} row(s) do not have the header's {len(header)} fields: "
            f"{'; '.join(bad)}{more}; a missing or extra delimiter, or a delimiter inside a "
            "value that is not quoted; nothing was written"
        )


def _fits(record: list[str], width: int) -> bool:
    """The header's ``width`` fields, or one more that is empty (a trailing delimiter)."""
    return len(record) == width or (len(record) == width + 1 and record[-1] == "")


def _check_header(path: Path, header: list[str]) -> None:
    repeated = [c for c, n in Counter(header).items() if n > 1]
    if repeated:
        names = ", ".join(repr(c) for c in repeated)
        raise DataValidationError(
            f"{path}: row 0 (header): column(s) {names} appear more than once; "
            "rename or remove the repeats; nothing was written"
        )
