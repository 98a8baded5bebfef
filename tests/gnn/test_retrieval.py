"""Retrieval of the linear generators: with an exact index it reads what the dense row does."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor

from kgrec.gnn.baselines import ItemKNN, Popularity, Recommender
from kgrec.gnn.baselines.base import row_scores
from kgrec.gnn.ranking import RankerConfig, StagedConfig, StagedRanking
from kgrec.gnn.ranking.features import generator_views
from kgrec.gnn.ranking.retrieval import Retrieval, WarmMoments, generator_scores
from kgrec.gnn.ranking.tables import FactorTable
from tests.utils.ranking import taste_clusters

CAP = 64
PER_GENERATOR = 20


class ExactSearch:
    """Every vector scored: the index an ANN one approximates (ties by position)."""

    def __init__(self, vectors: Tensor) -> None:
        self.vectors = vectors.numpy()
        self.calls = 0

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self.calls += 1
        scores = queries @ self.vectors.T
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(scores, order, axis=1), order


def _setting(
    products: int = 3000, fresh_share: float = 0.3, seed: int = 0
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(items [P, D], warm rows [A], queries [B, D], seen [B, P]) with some fresh products seen."""
    gen = torch.Generator().manual_seed(seed)
    items = torch.randn(products, 16, generator=gen)
    fresh = torch.rand(products, generator=gen) < fresh_share
    warm = (~fresh).nonzero().flatten()
    queries = torch.randn(4, 16, generator=gen)
    seen = torch.zeros(4, products, dtype=torch.bool)
    for r, held in enumerate((0, 3, 40, 200)):
        seen[r, torch.randperm(products, generator=gen)[:held]] = True
    return items, warm, queries, seen


def _retrieval(items: Tensor, warm: Tensor) -> Retrieval:
    return Retrieval(items, warm, ExactSearch(items[warm]), WarmMoments.of(items[warm]))


def test_with_an_exact_index_the_view_is_the_dense_rows() -> None:
    items, warm, queries, seen = _setting()
    dense = row_scores(items, queries)
    expected = generator_views({"g": dense}, seen, CAP)["g"]
    got = _retrieval(items, warm).retrieve(queries, seen, CAP, PER_GENERATOR)
    assert torch.equal(got.view.top, expected.top)
    torch.testing.assert_close(got.view.mean, expected.mean, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(got.view.std, expected.std, rtol=1e-5, atol=1e-5)
    # what was read is exact; the rest is NaN until a candidate needs it
    read = ~got.scores.isnan()
    torch.testing.assert_close(got.scores[read], dense[read])
    assert 0 < int(read.sum(1).min()) < items.shape[0]


def test_the_candidates_are_scored_exactly_once_known() -> None:
    items, warm, queries, seen = _setting()
    rows = _retrieval(items, warm).retrieve(queries, seen, CAP, PER_GENERATOR)
    candidates = torch.randint(
        -1, items.shape[0], (4, 50), generator=torch.Generator().manual_seed(1)
    )
    assert rows.scores.gather(1, candidates.clamp(min=0)).isnan().any()
    rows.fill(candidates)
    at = candidates.clamp(min=0)
    picked = rows.scores.gather(1, at)[candidates >= 0]
    torch.testing.assert_close(picked, row_scores(items, queries).gather(1, at)[candidates >= 0])


def test_a_row_whose_best_are_fresh_is_scored_whole() -> None:
    """The candidates read past its kept ranking (a top-k of the whole row) as a dense row."""
    items, warm, queries, seen = _setting(fresh_share=0.95)
    rows = _retrieval(items, warm).retrieve(queries, seen, CAP, PER_GENERATOR)
    assert not rows.scores.isnan().any()
    torch.testing.assert_close(rows.scores, row_scores(items, queries))


def test_the_moments_are_the_vectors_sum_and_scatter() -> None:
    vectors = torch.randn(20_000, 8, dtype=torch.float64).float() + 3.0
    m = WarmMoments.of(vectors)
    v = vectors.double()
    centred = v - v.mean(0)
    torch.testing.assert_close(m.total, v.sum(0))
    torch.testing.assert_close(m.scatter, centred.T @ centred)
    with pytest.raises(ValueError, match="moments of 20000 vectors for 3 warm rows"):
        Retrieval(vectors, torch.arange(3), ExactSearch(vectors[:3]), m)


def test_generators_that_score_a_row_otherwise_take_their_dense_scores() -> None:
    """A user the factor table lacks (a zero query, no order) is scored densely."""
    items, warm, _, seen = _setting()
    users = torch.randn(10, 16)
    table = FactorTable("als", users, items)
    reader = _retrieval(items, warm)
    empty = torch.zeros((2, 0), dtype=torch.long)
    known = torch.tensor([0, 1, 2, 3])
    scores, retrieved = generator_scores(
        {"als": table}, {"als": reader}, known, empty, seen, CAP, PER_GENERATOR
    )
    assert list(retrieved) == ["als"] and scores["als"].isnan().any()
    mixed = torch.tensor([0, 1, 2, 99])
    scores, retrieved = generator_scores(
        {"als": table}, {"als": reader}, mixed, empty, seen, CAP, PER_GENERATOR
    )
    assert retrieved == {}
    torch.testing.assert_close(scores["als"], table.scores(mixed, empty))


def test_the_stages_serve_the_same_lists_through_an_exact_index() -> None:
    train, val, users, items = taste_clusters()
    gen = torch.Generator().manual_seed(0)
    als = FactorTable(
        "als", torch.randn(users, 4, generator=gen), torch.randn(items, 4, generator=gen)
    )
    generators: dict[str, Recommender] = {
        "item_knn": ItemKNN(),
        "popularity": Popularity(),
        "als": als,
    }
    for model in generators.values():
        model.fit(train, users, items, val)
    config = StagedConfig(
        fresh_generators=("item_knn", "als"),
        fresh_popularity=(),
        fresh_history=(),
        without_history="popularity",
        cold_users=10,
        min_cold_history=3,
        per_generator=4,
        rank_cap=6,
        ranker=RankerConfig(rounds=20, min_data_in_leaf=5),
    )
    staged = StagedRanking(generators, factor_models=("als",), config=config)
    staged.fit(train, users, items, val)
    warm = (staged.item_count > 0).nonzero().flatten()
    search = ExactSearch(als.items[warm])
    served = staged.with_retrieval(
        {"als": Retrieval(als.items, warm, search, WarmMoments.of(als.items[warm]))}
    )
    batch = torch.arange(users)
    dense, through_index = staged.ranked(batch, train), served.ranked(batch, train)
    assert search.calls == 1 and staged.retrieval == {}
    for (rows, scores), (rows_i, scores_i) in zip(dense, through_index, strict=True):
        assert torch.equal(rows, rows_i)
        torch.testing.assert_close(scores, scores_i, equal_nan=True)
