"""StagedRanking's served list: the fresh products' order at their slots."""

from __future__ import annotations

import pytest
import torch

from tests.utils.ranking import fitted_staged, taste_clusters


@pytest.mark.parametrize("share", [0.0, 0.2, 0.5])
def test_fresh_products_tied_in_the_cold_path_go_in_product_order(share: float) -> None:
    """Products 20-25 are fresh and tie in the cold path (no neighbours to score them)."""
    train, val, users, _ = taste_clusters()
    staged, _ = fitted_staged(train, val, users, 26, per_generator=4, fresh_share=share)
    for served, scores in staged.ranked(torch.arange(0, users, 7), train):
        assert served[scores.isnan()].tolist() == list(range(20, 26))
