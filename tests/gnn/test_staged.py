"""StagedRanking's served list: its head alone is the head of the whole list."""

from __future__ import annotations

import pytest
import torch

from tests.utils.ranking import fitted_staged, taste_clusters


@pytest.mark.parametrize("share", [0.0, 0.2, 0.5])
def test_a_limited_list_is_the_head_of_the_whole_one(share: float) -> None:
    """Products 20-25 are fresh and tie in the cold path: they go in product order."""
    train, val, users, _ = taste_clusters()
    items = 26
    staged, _ = fitted_staged(train, val, users, items, per_generator=4, fresh_share=share)
    batch = torch.arange(0, users, 7)
    whole = staged.ranked(batch, train)
    for limit in (1, 4, 5, 9, 12, 40):
        head = staged.ranked(batch, train, limit=limit)
        explained = staged.ranked_with_proposers(batch, train, limit=limit)
        for (served, scores), (cut, cut_scores), (again, _, proposed) in zip(
            whole, head, explained, strict=True
        ):
            assert cut.tolist() == served[:limit].tolist(), (share, limit)
            assert again.tolist() == cut.tolist()
            assert torch.equal(cut_scores.isnan(), scores[:limit].isnan())
            assert torch.equal(cut_scores.nan_to_num(), scores[:limit].nan_to_num())
            assert all(len(mask) == len(cut) for mask in proposed.values())
    for served, scores in whole:
        # every fresh product, tied in the cold path: in product order
        assert served[scores.isnan()].tolist() == list(range(20, 26))
        assert len(served) > 9  # the limits above cut the list, or reach past it


def test_a_limit_below_one_is_refused() -> None:
    train, val, users, items = taste_clusters()
    staged, _ = fitted_staged(train, val, users, items)
    with pytest.raises(ValueError, match="limit=0 must be at least 1"):
        staged.ranked(torch.tensor([0]), train, limit=0)
