"""Descending orders: stable_descending and top_ordered against torch's stable sort."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from kgrec.gnn.ranking.ordering import stable_descending, top_ordered

_SPECIAL = [0.0, -0.0, 1.0, -1.0, float("inf"), float("-inf"), float("nan"), 1e-30, -1e-30]


def _stable(scores: torch.Tensor) -> torch.Tensor:
    return scores.argsort(dim=-1, descending=True, stable=True)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.lists(st.sampled_from(_SPECIAL) | st.floats(-3, 3, width=32), min_size=1, max_size=30),
        min_size=1,
        max_size=1,
    )
)
def test_stable_descending_is_torchs_stable_sort(values: list[list[float]]) -> None:
    """NaN first, -0.0 tied with 0.0, ties in position order: as torch sorts."""
    scores = torch.tensor(values, dtype=torch.float32)
    assert stable_descending(scores).tolist() == _stable(scores).tolist()


def test_stable_descending_breaks_ties_by_label() -> None:
    rows = torch.tensor([7, 40, 3, 12, 99])
    values = torch.tensor([1.0, 2.0, 1.0, 2.0, 0.5])
    assert stable_descending(values, rows).tolist() == [12, 40, 3, 7, 99]


def test_stable_descending_checks_its_labels() -> None:
    values = torch.zeros(3)
    with pytest.raises(ValueError, match="labels of shape"):
        stable_descending(values, torch.arange(4))
    with pytest.raises(ValueError, match=r"0\.\.2\*\*32 - 1"):
        stable_descending(values, torch.tensor([0, -1, 2]))


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.lists(st.integers(0, 4), min_size=12, max_size=12), min_size=1, max_size=3),
    k=st.integers(1, 12),
)
def test_top_ordered_is_the_head_of_a_stable_sort(values: list[list[int]], k: int) -> None:
    """Whatever the ties, each row's top k are a stable descending sort's first k."""
    scores = torch.tensor(values, dtype=torch.float32)
    expected = _stable(scores)[:, :k]
    assert top_ordered(scores, k).tolist() == expected.tolist()
    # beside a row with a NaN score, every other row keeps its order
    with_nan = torch.cat([scores, torch.full((1, 12), float("nan"))])
    assert top_ordered(with_nan, k)[:-1].tolist() == expected.tolist()


@pytest.mark.parametrize("seed", range(6))
def test_top_ordered_over_long_rows(seed: int) -> None:
    """Rows long enough to be cut by a sampled bound: -inf, -0.0, ties at every scale."""
    gen = torch.Generator().manual_seed(seed)
    b, p, k = 6, 20_000 + 3_001 * seed, 553
    scores = torch.randn(b, p, generator=gen)
    scores[0, torch.randint(0, p, (4_000,), generator=gen)] = float("-inf")
    scores[0] = (scores[0] * 8).round() / 8  # with ties,
    scores[0, 7] = float("inf")  # and +inf beside -inf: a row summing to NaN without one
    scores[1] = (scores[1] * 4).round() / 4  # few values: ties at the bound, whole-row top-k
    scores[2] = (scores[2] * 300).round() / 300  # ties straddling the k-th place
    scores[3, : p // 2] = -0.0
    scores[3, p // 2 :] = 0.0
    scores[3, torch.randint(0, p, (2_000,), generator=gen)] = 1.0
    scores[4] *= torch.rand(p, generator=gen) < 0.1  # mostly zeros
    scores[5] *= torch.rand(p, generator=gen) < 0.02  # fewer nonzeros than k
    expected = _stable(scores)
    assert top_ordered(scores, k).tolist() == expected[:, :k].tolist()
    assert top_ordered(scores, 40).tolist() == expected[:, :40].tolist()
    assert top_ordered(scores, p).tolist() == expected.tolist()


def test_rows_holding_nan_take_a_plain_topk_whatever_k() -> None:
    """As before the NumPy orders, at k = P too; the other rows keep their stable order."""
    scores = torch.tensor([[0.0, 2.0, 2.0, float("nan")], [1.0, 3.0, 3.0, 0.0]])
    for k in (1, 3, 4):
        assert top_ordered(scores[:1], k).tolist() == scores[:1].topk(k).indices.tolist()
        assert top_ordered(scores, k)[1].tolist() == [1, 2, 0, 3][:k]
