"""Views of mostly-zero score rows read from their nonzeros (gnn/ranking/sparse_rows.py)."""

from __future__ import annotations

import pytest
import torch

from kgrec.gnn.baselines import Popularity
from kgrec.gnn.ranking.features import generator_views
from kgrec.gnn.ranking.sparse_rows import (
    SPARSE_MIN_PRODUCTS,
    SPARSE_SHARE,
    BaseRow,
    base_rows,
    sparse_view,
)

P = SPARSE_MIN_PRODUCTS + 300


def _expected(row: torch.Tensor, seen: torch.Tensor, keep: int) -> tuple[list[int], float, float]:
    """The dense definition: a stable descending sort of the unseen, their mean and spread."""
    unseen = (~seen).nonzero().flatten()
    order = unseen[torch.argsort(row[unseen], descending=True, stable=True)]
    values = row[unseen].double()
    return order[:keep].tolist(), float(values.mean()), float(values.std(unbiased=False))


def _read(s: torch.Tensor, seen: torch.Tensor) -> list[bool]:
    """Which rows of ``s`` the sparse view reads (the others take the dense passes)."""
    rows, cols = seen.nonzero(as_tuple=True)
    read = sparse_view(s, rows, cols, keep=8)
    return [False] * len(s) if read is None else read.done.tolist()


def _sparse_batch(gen: torch.Generator, b: int, nonzeros: int) -> torch.Tensor:
    """[b, P] rows of ``nonzeros`` values in -1.5..1.5 by halves: ties, negatives, zeros."""
    s = torch.zeros(b, P)
    for r in range(b):
        cols = torch.randint(0, P, (nonzeros,), generator=gen)
        s[r, cols] = torch.randint(-3, 4, (nonzeros,), generator=gen).float() / 2
    return s


@pytest.mark.parametrize("seed", range(4))
def test_a_sparse_row_gives_the_dense_definitions_order_mean_and_spread(seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    s = _sparse_batch(gen, 3, [5, 200, 500, 40][seed])
    seen = torch.rand(3, P, generator=gen) < 0.01
    seen[:, :2] = True  # seen products among the first zeros
    assert all(_read(s, seen))
    cap = [8, 64, 512, 1024][seed]
    view = generator_views({"a": s}, seen, cap=cap)["a"]
    for r in range(3):
        order, mean, std = _expected(s[r], seen[r], cap)
        assert view.top[r].tolist() == order
        assert float(view.mean[r]) == pytest.approx(mean, rel=1e-5, abs=1e-7)
        assert float(view.std[r]) == pytest.approx(std, rel=1e-4, abs=1e-6)


def test_the_negative_scores_follow_the_zeros_when_few_products_are_unseen() -> None:
    gen = torch.Generator().manual_seed(7)
    seen = torch.ones(1, P, dtype=torch.bool)
    free = torch.randperm(P, generator=gen)[:30]
    seen[0, free] = False  # 30 unseen products: 10 negative, 5 positive, 15 zeros
    s = torch.zeros(1, P)
    s[0, free[:10]] = -torch.rand(10, generator=gen) - 0.1
    s[0, free[10:15]] = torch.rand(5, generator=gen) + 0.1
    view = generator_views({"a": s}, seen, cap=64)["a"]
    order, mean, std = _expected(s[0], seen[0], 64)
    assert len(order) == 30
    assert view.top[0].tolist() == order + [-1] * 34
    assert float(view.mean[0]) == pytest.approx(mean, rel=1e-5)
    assert float(view.std[0]) == pytest.approx(std, rel=1e-4)


def test_dense_rows_short_rows_and_nan_rows_keep_the_dense_view() -> None:
    gen = torch.Generator().manual_seed(3)
    s = _sparse_batch(gen, 4, 50)
    s[1, : int(P * SPARSE_SHARE) + 1] = 1.0  # too many nonzeros
    s[2, 5] = float("nan")
    seen = torch.zeros(4, P, dtype=torch.bool)
    seen[:, 10] = True
    assert _read(s, seen) == [True, False, False, True]
    short = SPARSE_MIN_PRODUCTS - 1
    assert not any(_read(s[:, :short], seen[:, :short]))
    mixed = generator_views({"a": s[[0, 1, 3]]}, seen[:3], cap=32)["a"]
    for i, r in enumerate([0, 1, 3]):  # a batch of sparse and dense rows: each as alone
        alone = generator_views({"a": s[r : r + 1]}, seen[:1], cap=32)["a"]
        assert torch.equal(mixed.top[i], alone.top[0])
        assert torch.equal(mixed.mean[i], alone.mean[0])
        assert torch.equal(mixed.std[i], alone.std[0])
        assert mixed.top[i].tolist() == _expected(s[r], seen[0], 32)[0]


def test_seen_products_holding_scores_do_not_stretch_the_zeros_past_the_row() -> None:
    """Few unseen zeros, a seen product with a score: the zeros end at the row's last product."""
    seen = torch.ones(1, P, dtype=torch.bool)
    seen[0, :30] = False  # 30 unseen products, 0..29
    s = torch.zeros(1, P)
    s[0, 100] = 1.0  # a seen product's score
    s[0, 1] = -1.0  # an unseen negative one: after the 29 zeros
    view = generator_views({"a": s}, seen, cap=64)["a"]
    assert view.top[0].tolist() == [0, *range(2, 30), 1] + [-1] * 34
    assert _read(s, seen) == [True]


def test_a_cap_of_zero_and_infinite_scores_read_as_the_dense_view_does() -> None:
    s = torch.zeros(2, P)
    s[:, 5] = 1.0
    s[1, 6] = float("inf")  # seen: the dense view's sums give NaN, and so must this row's
    seen = torch.zeros(2, P, dtype=torch.bool)
    seen[1, 6] = True
    assert _read(s, seen) == [True, False]
    empty = generator_views({"a": s}, seen, cap=0)["a"]
    assert empty.top.shape == (2, 0)
    view = generator_views({"a": s}, seen, cap=4)["a"]
    assert view.top.tolist() == [[5, 0, 1, 2], [5, 0, 1, 2]]
    assert bool(view.mean[1].isnan()) and not bool(view.mean[0].isnan())


def _base_batch(gen: torch.Generator, b: int, moved: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(base [P] with ties, [b, P] rows equal to it but at ``moved`` products, up or down)."""
    base = torch.randint(0, 40, (P,), generator=gen).float() / 8
    s = base.expand(b, -1).clone()
    for r in range(b):
        cols = torch.randint(0, P, (moved,), generator=gen)
        s[r, cols] += torch.randint(-2, 15, (moved,), generator=gen).float() / 4  # mostly up
    return base, s


@pytest.mark.parametrize("seed", range(4))
def test_rows_off_a_base_row_give_the_dense_definitions_order_mean_and_spread(seed: int) -> None:
    """Popularity's rows (none moved) and peer popularity's (a few moved) read off their base."""
    gen = torch.Generator().manual_seed(seed)
    base, s = _base_batch(gen, 3, [0, 5, 300, 900][seed])
    seen = torch.rand(3, P, generator=gen) < 0.01
    seen[:, base.argmax()] = True  # a seen product at the head of the base order
    cap = [8, 64, 512, 1024][seed]
    rows, cols = seen.nonzero(as_tuple=True)
    read = sparse_view(s, rows, cols, cap, BaseRow.of(base))
    assert read is not None and read.done.all()
    view = generator_views({"a": s}, seen, cap=cap, bases={"a": BaseRow.of(base)})["a"]
    for r in range(3):
        order, mean, std = _expected(s[r], seen[r], cap)
        assert view.top[r].tolist() == order
        assert float(view.mean[r]) == pytest.approx(mean, rel=1e-6)
        assert float(view.std[r]) == pytest.approx(std, rel=1e-5)


def test_a_row_far_off_its_base_keeps_the_dense_view() -> None:
    gen = torch.Generator().manual_seed(5)
    base, s = _base_batch(gen, 2, 10)
    s[1] = torch.rand(P, generator=gen)  # every product moved
    seen = torch.zeros(2, P, dtype=torch.bool)
    rows, cols = seen.nonzero(as_tuple=True)
    read = sparse_view(s, rows, cols, 16, BaseRow.of(base))
    assert read is not None and read.done.tolist() == [True, False]
    view = generator_views({"a": s}, seen, cap=16, bases={"a": BaseRow.of(base)})["a"]
    assert view.top[1].tolist() == _expected(s[1], seen[1], 16)[0]


def test_base_rows_come_from_the_generators_that_have_one() -> None:
    pop = Popularity()
    pop.pop = torch.rand(P)
    rows = base_rows({"popularity": pop, "text": object()}, P)
    assert list(rows) == ["popularity"]
    assert (
        rows["popularity"].order[:3].tolist()
        == torch.argsort(pop.pop, descending=True)[:3].tolist()
    )
    assert base_rows({"popularity": pop}, SPARSE_MIN_PRODUCTS - 1) == {}


def test_a_base_row_is_a_copy_so_a_row_changed_later_reads_as_moved() -> None:
    gen = torch.Generator().manual_seed(6)
    values = torch.rand(P, generator=gen)
    base = BaseRow.of(values)
    values[:40] += 1.0  # the generator's row changed in place after the base was taken
    seen = torch.zeros(1, P, dtype=torch.bool)
    rows, cols = seen.nonzero(as_tuple=True)
    read = sparse_view(values[None, :], rows, cols, 64, base)
    assert read is not None
    assert read.top[0].tolist() == _expected(values, seen[0], 64)[0]
