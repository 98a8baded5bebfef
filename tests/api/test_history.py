"""The shopper's history is kept oldest first: the recency-weighted generators read it."""

from __future__ import annotations

import numpy as np

from kgrec.api.health import GraphHealth
from kgrec.api.history import ShopperHistory
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
