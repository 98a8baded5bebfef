"""EventIds.forget_user: a shopper's event ids leave the ledger and its file."""

from __future__ import annotations

from pathlib import Path

from kgrec.api.event_ids import EventIds, KeyedEvent


def test_a_shoppers_event_ids_are_forgotten(tmp_path: Path) -> None:
    ledger = EventIds.in_data_dir(tmp_path)
    events = [
        KeyedEvent(0, "e1", ("shopper-7f3a9c", "p1", "view", None), 10),
        KeyedEvent(1, "e2", ("shopper-7f3a9c", "p2", "purchase", 2.0), None),
        KeyedEvent(2, "e3", ("someone-else", "p1", "view", None), 12),
    ]
    ledger.resolve(events, now=100)
    assert ledger.forget_user("shopper-7f3a9c") == 2
    assert ledger.forget_user("shopper-7f3a9c") == 0
    again = ledger.resolve(events, now=200)
    assert again.repeated == 1 and again.ts == {0: 10, 1: 200, 2: 12}  # e1, e2 are new again
    ledger.forget_user("shopper-7f3a9c")
    ledger.close()
    assert b"shopper-7f3a9c" not in (tmp_path / "api" / "event-ids.sqlite3").read_bytes()
