"""Durable writes: a failed one leaves the old content; writers never share a temporary."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kgrec.files import private_tmp, save_atomic, write_atomic


def test_a_failed_write_leaves_the_old_content_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "LATEST"
    write_atomic(path, "v1")

    def half_then_fail(tmp: Path) -> None:
        tmp.write_text("v2, cut sh", encoding="utf-8")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        save_atomic(path, half_then_fail)
    assert path.read_text(encoding="utf-8") == "v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["LATEST"]
    write_atomic(path, "v2")
    assert path.read_text(encoding="utf-8") == "v2"


def test_each_thread_writes_its_own_temporary(tmp_path: Path) -> None:
    path = tmp_path / "latest.pt"
    names: list[Path] = []
    together = threading.Barrier(4)  # all alive at once: an ended thread's id may be reused

    def name() -> None:
        names.append(private_tmp(path))
        together.wait(10)

    threads = [threading.Thread(target=name) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(names)) == 4 and all(n.parent == tmp_path for n in names)
