"""api.learned.arm_order: an arm's generator subset and fresh share over a served list."""

from __future__ import annotations

import numpy as np

from kgrec.api.learned import arm_order
from kgrec.gnn.ranking.slots import is_fresh_slot

NAN = float("nan")


def test_only_the_arms_generators_propose_and_fresh_rows_move_to_the_new_slots() -> None:
    # served with share 0.5: warm 10, fresh 90, warm 11, fresh 91, warm 12, warm 13
    served = np.array([10, 90, 11, 91, 12, 13])
    scores = np.array([4.0, NAN, 3.0, NAN, 2.0, 1.0])
    proposed = {
        "item_knn": np.array([True, False, False, False, True, False]),
        "gnn": np.array([True, False, True, False, False, False]),
    }
    rows, s, p = arm_order(served, scores, proposed, ("item_knn",), 0.0)
    assert rows.tolist() == [10, 12, 90, 91]  # 11 and 13 dropped, fresh last
    assert np.isnan(s[2:]).all() and s[:2].tolist() == [4.0, 2.0]
    assert p["gnn"].tolist() == [True, False, False, False]
    rows, _, _ = arm_order(served, scores, proposed, ("item_knn", "gnn"), 0.5)
    assert rows.tolist() == [10, 90, 11, 91, 12]
    rows, s, _ = arm_order(served, scores, proposed, None, 1 / 3)
    assert rows.tolist() == [10, 11, 90, 12, 13, 91]
    fresh = [i for i in range(len(rows)) if np.isnan(s[i])]
    assert fresh == [i for i in range(6) if is_fresh_slot(i, 1 / 3)]
