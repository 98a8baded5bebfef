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
_FIELD_LIMIT: Final = 1 << 30
"""Characters a field may hold while checked (the csv module's default is 131,072)."""


def check_delimited(path: Path, sep: str, encoding: str) -> None:
    """Refuse a delimited file whose rows do not all have the header's fields.

    Blank and whitespace-only lines are skipped, as the readers skip them. One
    empty field past the header's is a trailing delimiter: on the header (then
    the readers drop that unnamed column), or on the first data row (pandas then
    drops it on every row); anywhere else it shifts nothing but is refused, as
    pandas would stop there. Bytes that do not decode are read as U+FFFD here, so
    every row's shape is checked before the readers' error, which names the
    byte, stops the import (the rows before it may be written by then).
    ``encoding`` is the codec the file is opened with
    (:attr:`kgrec.loaders.readers.ChunkReader.open_encoding`).

    Raises:
        DataValidationError: a repeated or empty column name, a quote inside an
            unquoted field or after a closing quote, or rows with more or fewer
            fields than the header (the first few named by data row and line).
    """
    bad: list[str] = []
    count = 0
    limit = csv.field_size_limit()
    try:
        csv.field_size_limit(_FIELD_LIMIT)  # a long description is no error; restored below
        with path.open(encoding=encoding, errors="replace", newline="") as f:
            reader = csv.reader(f, delimiter=sep, strict=True)
            header: list[str] | None = None
            extra: bool | None = None  # one empty field past the header's is allowed
            row = 0
            for record in reader:
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue
                if header is None:
                    header = _header(path, record)
                    if len(header) < len(record):
                        extra = True
                    continue
                row += 1
                if extra is None:
                    extra = len(record) == len(header) + 1 and record[-1] == ""
                width = len(header)
                if len(record) == width or (extra and len(record) == width + 1 and not record[-1]):
                    continue
                count += 1
                if len(bad) < _SHOWN:
                    bad.append(f"data row {row} (line {reader.line_num}) has {len(record)} fields")
    except csv.Error as e:
        raise DataValidationError(
            f"{path}: line {reader.line_num}: {e}: a quote inside a field that is not "
            "quoted as a whole, or a stray quote that runs on into the rows after it; "
            "quote the whole field and double each quote inside it; nothing was written"
        ) from e
    finally:
        csv.field_size_limit(limit)
    if count:
        more = f", and {count - len(bad):,} more" if count > len(bad) else ""
        assert header is not None
        raise DataValidationError(
            f"{path}: {count:,} row(s) do not have the header's {len(header)} fields: "
            f"{'; '.join(bad)}{more}; a missing or extra delimiter, or a delimiter inside a "
            "value that is not quoted; nothing was written"
        )


def unnamed_last_column(path: Path, sep: str, encoding: str) -> bool:
    """True when the header ends with a delimiter: its last column has no name.

    ``encoding`` as in :func:`check_delimited`.
    """
    try:
        with path.open(encoding=encoding, newline="") as f:
            for record in csv.reader(f, delimiter=sep):
                if record and (len(record) > 1 or record[0].strip()):
                    return len(record) > 1 and record[-1] == ""
    except (UnicodeDecodeError, csv.Error):
        return False
    return False


def _header(path: Path, record: list[str]) -> list[str]:
    """The header's column names, less an unnamed last one (a trailing delimiter).

    Raises:
        DataValidationError: a name repeated, or another column without a name.
    """
    names = record[:-1] if len(record) > 1 and record[-1] == "" else record
    unnamed = [str(i + 1) for i, name in enumerate(names) if not name.strip()]
    if unnamed:
        raise DataValidationError(
            f"{path}: row 0 (header): column(s) {', '.join(unnamed)} have no name; "
            "name them or remove them; nothing was written"
        )
    repeated = [c for c, n in Counter(names).items() if n > 1]
    if repeated:
        raise DataValidationError(
            f"{path}: row 0 (header): column(s) {', '.join(map(repr, repeated))} appear more "
            "than once; rename or remove the repeats; nothing was written"
        )
    return names
