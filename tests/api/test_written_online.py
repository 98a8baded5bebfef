"""The ledger of online writes: what a restart's restore reads to find stale version rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgrec.api.written_online import WrittenOnline
from kgrec.errors import ServiceUnavailableError
from kgrec.typing import PRODUCT, USER


def test_the_ledger_keeps_the_latest_write_per_id_and_forgets_a_shopper(tmp_path: Path) -> None:
    ledger = WrittenOnline.in_data_dir(tmp_path)
    ledger.record(PRODUCT, ["p2", "p1", "p2"], 100.0)
    ledger.record(USER, ["u1", "u2"], 150.0)
    ledger.record(PRODUCT, ["p1"], 200.0)
    ledger.record(PRODUCT, ["p2"], 50.0)  # an older stamp does not move it back
    assert ledger.since(PRODUCT, 0.0) == ["p1", "p2"]
    assert ledger.since(PRODUCT, 150.0) == ["p1"]
    assert ledger.since(USER, 150.0) == ["u1", "u2"]
    # another process's connection reads what this one wrote
    other = WrittenOnline.in_data_dir(tmp_path)
    assert other.since(PRODUCT, 100.0) == ["p1", "p2"]
    assert other.forget_user("u1") == 1 and other.forget_user("u1") == 0
    assert ledger.since(USER, 0.0) == ["u2"]
    assert ledger.forget_user("p1") == 0  # a product id is no shopper
    ledger.close()
    other.close()
    assert b"u1" not in (tmp_path / "api" / "written-online.sqlite3").read_bytes()


def test_a_ledger_that_cannot_be_written_refuses_with_its_path(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    ledger = WrittenOnline(blocked / "written-online.sqlite3")
    with pytest.raises(ServiceUnavailableError, match=r"written-online\.sqlite3"):
        ledger.record(PRODUCT, ["p1"], 1.0)
