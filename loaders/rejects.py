"""Rejects files: the original row plus ``file, row, column, reason`` (CSV)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from kgrec.errors import DataValidationError
from kgrec.loaders.constants import (
    ABSENT,
    COLUMN,
    FILE,
    REASON,
    REJECT_COLUMNS,
    ROW,
    ROW_NUMBER,
)


def rejected_rows(
    raw: pd.DataFrame, file_name: str, columns: Sequence[str], reasons: Sequence[str]
) -> pd.DataFrame:
    """``file, row, column, reason``, then the original columns of the ``raw`` rows.

    ``raw`` holds the rows as read, with their row numbers. An original column
    named like one of those four is kept as ``original <name>`` (inserting a
    second ``reason`` column failed).
    """
    original = raw.drop(columns=[ROW_NUMBER, ABSENT], errors="ignore")
    original = original.rename(columns={c: f"original {c}" for c in REJECT_COLUMNS})
    leading = pd.DataFrame(
        {
            FILE: file_name,
            ROW: raw[ROW_NUMBER].to_numpy(),
            COLUMN: list(columns),
            REASON: list(reasons),
        },
        index=raw.index,
    )
    return pd.concat([leading, original], axis=1)


class RejectsFile:
    """Append one source's rejected rows to a CSV, created on the first reject.

    An old file at ``path`` is removed when the writer is made, so the file always
    describes the last import of that source.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._columns: list[str] | None = None
        try:
            path.unlink(missing_ok=True)
        except OSError as e:
            raise DataValidationError(
                f"the rejects file {path} cannot be replaced ({e}); choose another --rejects path"
            ) from e

    def append(self, rejects: pd.DataFrame) -> None:
        """Append rejected rows (columns ``file, row, column, reason`` then the original).

        A later chunk with columns the file lacks (JSON Lines keys first seen
        there) rewrites the file with them added, empty in the earlier rows.
        """
        if not len(rejects):
            return
        try:
            if self._columns is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._columns = list(rejects.columns)
                header = True
            else:
                header = False
                extra = [c for c in rejects.columns if c not in self._columns]
                if extra:
                    self._columns += extra
                    earlier = pd.read_csv(
                        self.path, dtype=str, keep_default_na=False, encoding="utf-8"
                    )
                    earlier.reindex(columns=self._columns).to_csv(
                        self.path, index=False, encoding="utf-8"
                    )
            frame = rejects.reindex(columns=self._columns)
            assert list(frame.columns[: len(REJECT_COLUMNS)]) == list(REJECT_COLUMNS)
            frame.to_csv(self.path, mode="a", header=header, index=False, encoding="utf-8")
        except OSError as e:
            raise DataValidationError(
                f"the rejects file {self.path} cannot be written ({e}); choose another "
                "--rejects path"
            ) from e
        self.rows += len(frame)


def forget_in_rejects(directory: Path, user_id: str) -> list[Path]:
    """Rewrite the rejects files under ``directory`` without the rows that name ``user_id``.

    A row names it by a cell equal to it or a reason quoting it. A file is written
    beside the old one and moved over it (:meth:`Path.replace`); one left with no
    row is removed. Rejects files written elsewhere (``kgrec import --rejects
    PATH``) are not seen.

    Returns:
        The files rewritten.
    """
    rewritten: list[Path] = []
    paths = sorted(directory.glob("*.csv")) if directory.is_dir() else []
    for path in paths:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        quoted = f"'{user_id}'"
        drop = pd.Series(False, index=frame.index)
        for column in frame.columns:
            cells = frame[column].astype(str)
            drop |= (cells == user_id) | cells.str.contains(quoted, regex=False)
        if not drop.any():
            continue
        kept = frame[~drop]
        if kept.empty:
            path.unlink()
        else:
            tmp = path.with_name(f".{path.name}.forget-tmp")
            kept.to_csv(tmp, index=False, encoding="utf-8")
            tmp.replace(path)
        rewritten.append(path)
    return rewritten
