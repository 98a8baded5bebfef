"""Reciprocal rank fusion: the order of fused lists, one list kept as it is, a query's fusion."""

from __future__ import annotations

import numpy as np

from kgrec.api.learned import fuse_with_query
from kgrec.api.ranking import RRF_K, reciprocal_rank_fusion


def test_one_list_keeps_its_order_and_gets_reciprocal_ranks() -> None:
    served = np.array([7, 2, 9, 0])
    rows, total = reciprocal_rank_fusion([served, np.zeros(0, np.int64)], [1.0, 0.5])
    assert rows.tolist() == [7, 2, 9, 0]
    np.testing.assert_allclose(total, 1.0 / (RRF_K + np.arange(1, 5)))


def test_two_lists_are_ordered_by_their_summed_reciprocal_ranks() -> None:
    served = np.array([7, 2, 9, 0])
    text = np.array([9, 5, 7])
    rows, total = reciprocal_rank_fusion([served, text], [1.0, 1.0])
    expected = {
        7: 1 / (RRF_K + 1) + 1 / (RRF_K + 3),
        2: 1 / (RRF_K + 2),
        9: 1 / (RRF_K + 3) + 1 / (RRF_K + 1),
        0: 1 / (RRF_K + 4),
        5: 1 / (RRF_K + 2),
    }
    assert sorted(rows.tolist()) == sorted(expected)
    np.testing.assert_allclose(total, [expected[r] for r in rows.tolist()])
    assert np.all(np.diff(total) <= 0)  # best first
    assert rows.tolist()[:2] == [7, 9]  # tied totals keep the lower row first


def test_empty_lists_fuse_to_nothing() -> None:
    rows, total = reciprocal_rank_fusion([np.zeros(0, np.int64)], [1.0])
    assert rows.tolist() == [] and total.tolist() == []


def test_a_query_fuses_its_text_order_with_the_personal_one() -> None:
    personal = np.array([3, 1, 4])
    sims = np.array([0.1, 0.9, 0.2, 0.0, 0.8, 0.3], np.float32)
    rows, _, text = fuse_with_query(personal, sims, 2.0, text_candidates=4)
    assert text is not None and text.tolist() == [1, 4, 5, 2]  # best first, 4 long
    expected, _ = reciprocal_rank_fusion([personal, text], [1.0, 2.0])
    assert rows.tolist() == expected.tolist() and rows[0] == 1  # liked and on the query
    # never shorter than the personal head it is fused with
    short = fuse_with_query(personal, sims, 2.0, text_candidates=1)[2]
    assert short is not None and short.tolist() == [1, 4, 5]
    alone, _, none = fuse_with_query(personal, None, 2.0, text_candidates=4)
    assert alone.tolist() == [3, 1, 4] and none is None


def test_a_named_category_fuses_the_personal_order_within_it() -> None:
    personal = np.array([3, 1, 4, 0, 2])
    sims = np.array([0.1, 0.9, 0.2, 0.0, 0.8, 0.3], np.float32)
    plain, _, _ = fuse_with_query(personal, sims, 2.0, text_candidates=5)
    linked, _, _ = fuse_with_query(
        personal, sims, 2.0, text_candidates=5, linked=np.array([0, 2, 3]), w_link=2.0
    )
    expected, _ = reciprocal_rank_fusion(
        [personal, np.array([1, 4, 5, 2, 0]), np.array([3, 0, 2])], [1.0, 2.0, 2.0]
    )
    assert linked.tolist() == expected.tolist()
    assert linked.tolist().index(3) < plain.tolist().index(3)  # liked and in the category
    off, _, _ = fuse_with_query(
        personal, sims, 2.0, text_candidates=5, linked=np.array([0, 2, 3]), w_link=0.0
    )
    assert off.tolist() == plain.tolist()
