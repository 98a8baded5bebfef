"""gnn.replace_journal: files replaced together, finished after a stop, never half-moved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import kgrec.gnn.replace_journal as replace_journal
from kgrec.errors import ArtifactError
from kgrec.gnn.replace_journal import (
    JOURNAL_PREFIX,
    TMP_SUFFIX,
    finish_replacing,
    journal_path,
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
    replace_together(tmp_path, staged, token)
    assert [t.read_text() for t in targets] == ["new", "new"]
    assert _files(tmp_path) == {"a.txt": "new"} and finish_replacing(tmp_path) == []


def test_a_failed_write_leaves_no_staged_file(tmp_path: Path) -> None:
    def fails(f: object) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        stage(tmp_path / "a.txt", fails, new_token())
    assert _files(tmp_path) == {}


def _journal(directory: Path, token: str, entries: list[list[str]]) -> Path:
    path = journal_path(directory, token)
    path.write_text(json.dumps({"replace": entries}))
    return path


def test_an_old_journal_never_moves_a_later_runs_staged_file(tmp_path: Path) -> None:
    """A finisher reading a finished run's journal late: the next run's files have other names."""
    target = tmp_path / "a.txt"
    target.write_text("old")
    first_token = new_token()
    first = stage(target, lambda f: f.write(b"first"), first_token)
    first.replace(target)  # the first run moved its file in (its journal read by a finisher)
    later = stage(target, lambda f: f.write(b"half writt"), new_token())  # the next run
    _journal(tmp_path, first_token, [[first.name, target.name]])
    assert finish_replacing(tmp_path) == []  # nothing of the first run left to move
    assert target.read_text() == "first" and later.read_text() == "half writt"
    assert not list(tmp_path.glob(f"{JOURNAL_PREFIX}*"))


def test_a_slow_finisher_never_deletes_a_later_runs_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a loader redoes run A's journal, A ends and run B writes its own: B's stays."""
    target = tmp_path / "a.txt"
    target.write_text("old")
    a = new_token()
    a_journal = _journal(tmp_path, a, [[f".a.txt.{a}{TMP_SUFFIX}", "a.txt"]])
    b_journal = journal_path(tmp_path, new_token())
    redo = replace_journal._redo

    def slow(directory: Path, entries: list[list[str]]) -> list[Path]:
        if a_journal.exists():  # meanwhile: A finished, B staged and wrote its journal
            a_journal.unlink()
            b_journal.write_text(json.dumps({"replace": []}))
        return redo(directory, entries)

    monkeypatch.setattr(replace_journal, "_redo", slow)
    assert finish_replacing(tmp_path) == []
    assert b_journal.exists() and target.read_text() == "old"


def test_a_damaged_journal_is_an_error_naming_it(tmp_path: Path) -> None:
    journal = _journal(tmp_path, new_token(), [])
    journal.write_text('{"replace": [["a"')
    with pytest.raises(ArtifactError, match=rf"{journal.name}: cannot read the journal .* rebuild"):
        finish_replacing(tmp_path)
    with pytest.raises(ArtifactError, match="unfinished rewrite"):
        remove_stale(tmp_path)


def test_what_a_run_stopped_before_its_journal_left_is_deleted(tmp_path: Path) -> None:
    staged = stage(tmp_path / "a.txt", lambda f: f.write(b"new"), new_token())
    cut = tmp_path / f".{JOURNAL_PREFIX}{new_token()}.json.12-34.tmp"  # write_atomic's own
    cut.write_text('{"replace": [')
    (tmp_path / "a.txt").write_text("old")
    remove_stale(tmp_path)
    assert _files(tmp_path) == {"a.txt": "old"} and not staged.exists()
