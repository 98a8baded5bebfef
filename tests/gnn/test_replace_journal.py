"""gnn.replace_journal: files replaced together, finished after a stop, never half-moved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgrec.errors import ArtifactError
from kgrec.gnn.replace_journal import (
    JOURNAL,
    TMP_SUFFIX,
    finish_replacing,
    new_token,
    remove_stale,
    replace_together,
    stage,
)


def _files(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(directory.iterdir()) if p.is_file()}


def test_files_are_replaced_together_and_nothing_is_left(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    targets = [tmp_path / "a.txt", tmp_path / "sub" / "b.txt"]
    for t in targets:
        t.write_text("old")
    token = new_token()
    staged = [(stage(t, lambda f: f.write(b"new"), token), t) for t in targets]
    assert all(tmp.name.endswith(f".{token}{TMP_SUFFIX}") for tmp, _ in staged)
    replace_together(tmp_path, staged)
    assert [t.read_text() for t in targets] == ["new", "new"]
    assert _files(tmp_path) == {"a.txt": "new"} and finish_replacing(tmp_path) == []


def test_an_old_journal_never_moves_a_later_runs_staged_file(tmp_path: Path) -> None:
    """A finisher reading a finished run's journal late: the next run's files have other names."""
    target = tmp_path / "a.txt"
    target.write_text("old")
    first = stage(target, lambda f: f.write(b"first"), new_token())
    old_journal = {"replace": [[first.name, target.name]]}
    first.replace(target)  # the first run moved its file in (its journal read by a finisher)
    later = stage(target, lambda f: f.write(b"half writt"), new_token())  # the next run
    (tmp_path / JOURNAL).write_text(json.dumps(old_journal))
    assert finish_replacing(tmp_path) == [target]
    assert target.read_text() == "first" and later.read_text() == "half writt"


def test_a_damaged_journal_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / JOURNAL).write_text('{"replace": [["a"')
    with pytest.raises(ArtifactError, match=rf"{JOURNAL}: cannot read the journal .* rebuild"):
        finish_replacing(tmp_path)
    with pytest.raises(ArtifactError, match="unfinished rewrite"):
        remove_stale(tmp_path)
