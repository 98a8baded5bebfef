"""The shopper's history is kept oldest first: the recency-weighted generators read it."""

from __future__ import annotations

import numpy as np

from kgrec.api.health import GraphHealth
from kgrec.api.history import ShopperHistory, restored_order
from kgrec.api.personal import latest_first_seen


def test_online_events_append_and_a_repeat_moves_to_the_end() -> None:
    history = ShopperHistory(GraphHealth(None, check_interval_s=1.0), cache_size=4)
    history.add_online({"u": ["a", "b"]}, forget_purchases=False)
    history.add_online({"u": ["c", "a"], "v": ["b"]}, forget_purchases=True)
    assert list(history.online["u"]) == ["b", "c", "a"]
    assert list(history.online["v"]) == ["b"]


def test_a_history_without_repeats_keeps_each_product_at_its_latest_position() -> None:
    out = latest_first_seen(np.array([5, 3, 5, 7, 3]))
    assert out.tolist() == [5, 7, 3]
    assert out.dtype == np.int64
    assert latest_first_seen(np.zeros(0, np.int64)).tolist() == []


def test_a_restore_gives_back_the_events_since_the_version_oldest_first() -> None:
    exported = 1_000_000.0
    latest = {
        "new-b": exported + 5,  # not in the version: back, by ts
        "new-a": exported + 5,  # the same second: by id
        "held-again": exported + 1,  # the version's, touched again since: moved last
        "held": exported - 3600,  # the version's, nothing since: where the version has it
        "old-new": 7.0,  # not in the version, with an old ts (a backfill): back, first
    }
    held = {"held", "held-again"}
    assert restored_order(latest, held, exported) == ["old-new", "held-again", "new-a", "new-b"]
    assert restored_order(latest, set(), exported)[-2:] == ["new-a", "new-b"]
    assert restored_order({}, held, exported) == []
