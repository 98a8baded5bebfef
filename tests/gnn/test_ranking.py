"""The ranking stages: candidates, features, the learned ranker, fresh slots, StagedRanking."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor

from kgrec.errors import ConfigError, ModelError
from kgrec.gnn.baselines import (
    ImplicitALS,
    ItemKNN,
    Popularity,
    TextKNN,
    history_matrix,
)
from kgrec.gnn.ranking import (
    KGKNN,
    LearnedRanker,
    RankerConfig,
    StagedRanking,
    merge_fresh,
)
from kgrec.gnn.ranking.config import StagedConfig
from kgrec.gnn.ranking.fresh_popularity import neighbour_popularity
from kgrec.gnn.ranking.served import (
    ALS_FILE,
    INTERACTIONS_FILE,
    ITEM_COUNT_FILE,
    NEIGHBOUR_GENERATORS,
    RANKING_DIR,
    load_ranking,
)
from kgrec.gnn.ranking.slots import is_fresh_slot
from kgrec.gnn.ranking.stages_file import STAGES_FILE
from kgrec.gnn.ranking.tables import FactorTable, NeighbourTable, save_items
from tests.utils.ranking import fitted_staged, lopsided_tastes, taste_clusters


def test_fresh_slots_take_every_tenth_position() -> None:
    warm = torch.arange(100, 130)
    fresh = torch.tensor([1, 2, 3])
    merged = merge_fresh(warm, fresh, 0.1).tolist()
    assert merged[9] == 1 and merged[19] == 2 and merged[29] == 3
    assert merged[:9] == list(range(100, 109))
    assert sorted(merged) == sorted(warm.tolist() + fresh.tolist())
    # policy off: the ranker's order first, fresh products only after it
    assert merge_fresh(warm, fresh, 0.0).tolist() == [*warm.tolist(), 1, 2, 3]
    # one list runs out: the other fills the rest
    assert merge_fresh(torch.tensor([7]), fresh, 0.5).tolist() == [7, 1, 2, 3]
    slots = [p for p in range(40) if is_fresh_slot(p, 0.25)]
    assert slots == [3, 7, 11, 15, 19, 23, 27, 31, 35, 39]


def _merged_one_by_one(warm: list[int], fresh: list[int], share: float) -> list[int]:
    """The fresh-slot merge written as the policy reads: position by position."""
    out: list[int] = []
    i = j = 0
    while i < len(warm) or j < len(fresh):
        if j < len(fresh) and (i >= len(warm) or is_fresh_slot(len(out), share)):
            out.append(fresh[j])
            j += 1
        else:
            out.append(warm[i])
            i += 1
    return out


@pytest.mark.parametrize("share", [0.0, 0.05, 0.1, 0.25, 0.5, 0.9])
def test_the_merge_places_fresh_products_as_the_policy_reads(share: float) -> None:
    for w, f in [(0, 0), (0, 5), (5, 0), (1, 30), (30, 1), (37, 4), (3, 41), (200, 19)]:
        warm, fresh = torch.arange(1000, 1000 + w), torch.arange(f)
        expected = _merged_one_by_one(warm.tolist(), fresh.tolist(), share)
        assert merge_fresh(warm, fresh, share).tolist() == expected, (w, f)


def _planted(n_groups: int = 200, size: int = 20, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_groups * size, 3))
    y = (x[:, 1] > 1.0).astype(np.int32)  # the second feature decides relevance
    return x, y, np.full(n_groups, size)


def test_the_ranker_learns_a_planted_feature_and_saves_its_feature_list(tmp_path: Path) -> None:
    x, y, groups = _planted()
    features = ("noise", "signal", "more_noise")
    ranker = LearnedRanker.fit(x, y, groups, features, RankerConfig(rounds=50, min_data_in_leaf=5))
    test_x, test_y, _ = _planted(seed=1)
    scores = ranker.score(test_x)
    assert np.quantile(scores[test_y == 1], 0.1) > np.median(scores[test_y == 0])
    assert max(ranker.importance(), key=ranker.importance().get) == "signal"  # type: ignore[arg-type]
    path = ranker.save(tmp_path / "ranker.txt")
    again = LearnedRanker.load(path, features)
    np.testing.assert_allclose(again.score(test_x), scores)
    with pytest.raises(ModelError, match=r"trained on features \['noise'.*computes \['a', 'b'\]"):
        LearnedRanker.load(path, ("a", "b"))


def test_an_ensemble_ranker_scores_the_mean_of_its_boosters(tmp_path: Path) -> None:
    x, y, groups = _planted()
    config = RankerConfig(rounds=30, min_data_in_leaf=5, models=3)
    ranker = LearnedRanker.fit(x, y, groups, ("noise", "signal", "more_noise"), config)
    assert len(ranker.boosters) == 3
    each = [LearnedRanker(ranker.features, [b], config).score(x) for b in ranker.boosters]
    assert not np.allclose(each[0], each[1])  # other seeds, other early-stopping groups
    np.testing.assert_allclose(ranker.score(x), np.mean(each, axis=0))
    path = ranker.save(tmp_path / "ranker.txt")
    assert sorted(p.name for p in tmp_path.glob("ranker*.txt")) == [
        "ranker.1.txt",
        "ranker.2.txt",
        "ranker.txt",
    ]
    np.testing.assert_allclose(LearnedRanker.load(path, ranker.features).score(x), ranker.score(x))
    meta = json.loads(path.with_suffix(".json").read_text())
    del meta["config"]["models"]  # as saved before the ensemble: one booster
    path.with_suffix(".json").write_text(json.dumps(meta))
    single = LearnedRanker.load(path, ranker.features)
    np.testing.assert_allclose(single.score(x), each[0])
    meta["config"]["models"] = 3
    path.with_suffix(".json").write_text(json.dumps(meta))
    (tmp_path / "ranker.2.txt").unlink()
    with pytest.raises(ModelError, match=r"ranker\.2\.txt.*missing"):
        LearnedRanker.load(path, ranker.features)


def test_kg_knn_ranks_products_sharing_entities_first() -> None:
    # products 0 and 1 share entity 0; product 2 shares nothing with them
    incidence = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    kg = KGKNN(incidence, neighbours=0)
    kg.fit(torch.tensor([[0, 1], [0, 3]]), 2, 4)
    scores = kg.scores(torch.tensor([0]), torch.tensor([[0], [0]]))
    assert scores[0, 1] > scores[0, 2] and scores[0, 1] > scores[0, 3]
    assert torch.equal(kg.scores(torch.tensor([1]), torch.zeros(2, 0, dtype=torch.long))[0], kg.pop)


def test_staged_ranking_serves_the_ranker_order_with_fresh_slots() -> None:
    train, val, users, items = taste_clusters()
    staged, _ = fitted_staged(
        train,
        val,
        users,
        items,
        per_generator=10,
        fresh_share=0.2,
        ranker=RankerConfig(rounds=30, min_data_in_leaf=5),
    )
    batch = torch.arange(users)
    scores = staged.scores(batch, train)
    seen = history_matrix(train, batch, items).bool()
    assert torch.isinf(scores[seen]).all()  # nothing already interacted with comes back
    top = scores.topk(5, dim=1).indices
    assert (top[:, 4] == 20).all()  # the fresh product holds the 5th position (share 0.2)
    in_cluster = ((top[:20, :4] < 10).float().mean(), (top[20:, :4] >= 10).float().mean())
    assert min(in_cluster) > 0.6  # taste-blind order: about 0.26
    off = staged.without_fresh_slots().scores(batch, train)
    assert not (off.topk(5, dim=1).indices == 20).any()
    staged.assert_no_test_labels([torch.tensor([[0], [20]])])
    with pytest.raises(AssertionError, match="ranker trained on a test pair"):
        staged.assert_no_test_labels([val[:, :3]])


def test_the_proposers_are_each_generators_top_from_the_same_pass() -> None:
    """What api/reasons names: the generators that proposed each served row."""
    train, val, users, items = taste_clusters(seed=1)
    staged, generators = fitted_staged(train, val, users, items, per_generator=4, fresh_share=0.2)
    knn, pop = generators["item_knn"], generators["popularity"]
    batch = torch.arange(6)
    plain = staged.ranked(batch, train)
    explained = staged.ranked_with_proposers(batch, train)
    seen = history_matrix(train, batch, items).bool()
    for i, ((served, scores), (served2, scores2, proposed)) in enumerate(
        zip(plain, explained, strict=True)
    ):
        assert torch.equal(served, served2)  # the same answer, the same scores
        assert torch.equal(scores.isnan(), scores2.isnan())
        assert torch.equal(scores.nan_to_num(), scores2.nan_to_num())
        excluded = seen[i] | (staged.item_count == 0)
        for name, model in (("item_knn", knn), ("popularity", pop)):
            own = model.scores(batch[i : i + 1], train)[0].masked_fill(excluded, float("-inf"))
            kth = own.topk(staged.config.per_generator).values[-1]
            mine = proposed[name]
            assert int(mine.sum()) == staged.config.per_generator, name  # all in the answer
            # above the k-th best: proposed; below it: not (a tie at it may go either way)
            assert mine[own[served] > kth].all() and not mine[own[served] < kth].any(), name
        fresh = scores.isnan()
        anyone = proposed["item_knn"] | proposed["popularity"]
        assert torch.equal(anyone, ~fresh)  # every warm row was someone's, no fresh one


def test_the_top_up_candidates_are_credited_to_the_top_up_generator() -> None:
    """Item-kNN has about 5 products above its floor per shopper, short of 8.

    Popularity proposes its 8 and the places item-kNN left, and the reasons
    credit it with every one of them: no served warm row is nobody's.
    """
    train, val, users, items = taste_clusters(seed=1)
    staged, _ = fitted_staged(train, val, users, items, per_generator=8, fresh_share=0.0)
    assert staged.config.top_up == "popularity"
    for _, scores, proposed in staged.ranked_with_proposers(torch.arange(6), train):
        warm = ~scores.isnan()
        assert int(proposed["item_knn"].sum()) < 8
        assert int(proposed["popularity"].sum()) > 8
        assert torch.equal(proposed["item_knn"] | proposed["popularity"], warm)


def test_a_fresh_product_like_popular_ones_is_predicted_popular() -> None:
    """Fresh products 3 and 4 share entity / text with popular 0 and unpopular 2 resp."""
    incidence = torch.tensor(
        [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]  # 0, 1, 3 | 2, 4
    )
    count = torch.tensor([50, 5, 1, 0, 0])
    fresh = count == 0
    kg = KGKNN(incidence, neighbours=0)
    votes = neighbour_popularity(kg, count, fresh)
    assert votes[3] > votes[4] > 0 and (votes[~fresh] == 0).all()
    # the stored table (what serving reads) predicts the same, and 0 for rows added online
    table = NeighbourTable.from_similarity("kg_knn", kg.sim, torch.zeros(5))
    wide = torch.cat([count, torch.zeros(1, dtype=torch.long)])
    served = neighbour_popularity(table, wide, wide == 0)
    assert torch.equal(served[:5], votes)  # the fitted KG-kNN's sparse product, same bits
    assert served[5] == 0
    text = TextKNN(incidence + 0.01 * torch.arange(5.0)[:, None])
    by_text = neighbour_popularity(text, count, fresh)
    assert by_text[3] > by_text[4] > 0
    with pytest.raises(ConfigError, match="no content neighbours"):
        neighbour_popularity(Popularity(), count, fresh)


def test_fresh_generators_must_be_generators() -> None:
    with pytest.raises(ConfigError, match=r"\['gnn'\] are not among the generators.*popularity"):
        StagedRanking({"popularity": Popularity()}, config=StagedConfig(fresh_generators=("gnn",)))
    bare = StagedConfig(fresh_generators=(), fresh_popularity=(), without_history="")
    with pytest.raises(ConfigError, match=r"fresh_history \['text_knn', 'kg_knn'\] are not among"):
        StagedRanking({"popularity": Popularity()}, config=bare)
    # a ranking saved before the rule keeps the ranker's order for such shoppers
    assert StagedConfig.from_dict({}).fresh_history == ()


def test_stored_tables_score_as_the_fitted_generators(tmp_path: Path) -> None:
    """What serving reads back from the artifact version scores as what was fitted.

    To the bit: the fitted ItemKNN and the stored table sum the same sparse rows.
    """
    train, _, users, items = taste_clusters()
    knn = ItemKNN(neighbours=5, grid=())
    knn.fit(train, users, items)
    table = NeighbourTable.from_similarity("item_knn", knn.sim, knn.pop)
    table.save(tmp_path / "item_knn.npz")
    loaded = NeighbourTable.load("item_knn", tmp_path / "item_knn.npz", knn.pop)
    batch = torch.arange(users)
    assert torch.equal(loaded.scores(batch, train), knn.scores(batch, train))
    # a user without history gets the popularity fallback; rows past the table score 0
    wide = NeighbourTable("item_knn", loaded.matrix, torch.zeros(items + 2))
    assert wide.scores(batch, train).shape == (users, items + 2)
    assert (wide.scores(batch, train)[:, items:] == 0).all()
    user_vecs, item_vecs = torch.randn(users, 4), torch.randn(items, 4)
    factors = FactorTable("als", user_vecs, item_vecs)
    torch.testing.assert_close(factors.scores(batch, train), user_vecs @ item_vecs.T)
    assert (factors.scores(torch.tensor([users]), train) == 0).all()  # a user it lacks


def test_saved_stages_need_the_same_generators(tmp_path: Path) -> None:
    train, val, users, items = taste_clusters()
    staged, generators = fitted_staged(train, val, users, items, per_generator=10)
    knn, pop = generators["item_knn"], generators["popularity"]
    staged.save(tmp_path / "ranking")
    loaded = StagedRanking.load(tmp_path / "ranking", {"item_knn": knn, "popularity": pop})
    loaded.item_count, loaded.known_users = staged.item_count, staged.known_users
    batch = torch.arange(users)
    torch.testing.assert_close(loaded.scores(batch, train), staged.scores(batch, train))
    with pytest.raises(ModelError, match=r"\['item_knn', 'popularity'\].*\['popularity'\]"):
        StagedRanking.load(tmp_path / "ranking", {"popularity": pop})


def _version_trained_on(
    directory: Path, staged: StagedRanking, knn: ItemKNN, train: Tensor
) -> None:
    """An artifact version's ranking/ with ``staged`` and tables from ``knn`` for every table."""
    ranking = directory / RANKING_DIR
    staged.save(ranking)
    (ranking / "generators.json").write_text("{}")  # every generator at its default
    np.save(ranking / ITEM_COUNT_FILE, staged.item_count.numpy())
    np.save(ranking / INTERACTIONS_FILE, train.numpy())
    for name in NEIGHBOUR_GENERATORS:
        NeighbourTable.from_similarity(name, knn.sim, knn.pop).save(ranking / f"{name}.npz")
    save_items(ranking / ALS_FILE, torch.randn(len(staged.item_count), 4))


def test_a_version_trained_with_fewer_generators_serves_with_them(tmp_path: Path) -> None:
    """A version an earlier kgrec trained (before a generator was added) still serves."""
    train, val, users, items = taste_clusters()
    staged, generators = fitted_staged(train, val, users, items, per_generator=10)
    knn = generators["item_knn"]
    assert isinstance(knn, ItemKNN)
    _version_trained_on(tmp_path, staged, knn, train)
    (tmp_path / RANKING_DIR / "next_item.npz").unlink()  # an earlier kgrec wrote none
    stored = load_ranking(tmp_path)
    assert stored is not None and stored.recent_decay == 0.9  # absent key: the default
    bound = stored.bind(torch.randn(users, 4), torch.randn(items, 4), torch.randn(items, 8))
    assert list(bound.generators) == ["item_knn", "popularity"]
    batch = torch.arange(users)
    torch.testing.assert_close(bound.scores(batch, train), staged.scores(batch, train))


def test_a_version_whose_ranker_read_stored_als_factors_keeps_als_unavailable_to_new_shoppers(
    tmp_path: Path,
) -> None:
    """A version an earlier kgrec wrote (every user's ALS factors stored, ALS a factor model).

    Its ranker never saw ALS features for a shopper the version lacks: they stay
    missing there, as it was trained, while ALS now solves its known users.
    """
    train, val, users, items = taste_clusters()
    staged, generators = fitted_staged(
        train,
        val,
        users,
        items,
        extra={"als": ImplicitALS(factors=4, grid=())},
        factor_models=("als",),
    )
    knn, als = generators["item_knn"], generators["als"]
    assert isinstance(knn, ItemKNN) and isinstance(als, ImplicitALS)
    _version_trained_on(tmp_path, staged, knn, train)
    np.savez(
        tmp_path / RANKING_DIR / ALS_FILE,
        users=np.ones((users, 4), np.float32),
        items=als.item_vectors.numpy(),
    )
    stored = load_ranking(tmp_path)
    assert stored is not None
    bound = stored.bind(torch.randn(users, 4), torch.randn(items, 4), torch.randn(items, 8))
    assert bound.factor_models == ("als",)
    shoppers = torch.tensor([0, users])  # one the version holds, one it lacks (row U)
    history = torch.cat([train, torch.tensor([[users, users], [0, 1]])], dim=1)
    features, candidates = bound._stage(shoppers, history, False)
    als_features = [i for i, name in enumerate(bound.features) if name.startswith("als")]
    assert features[1][candidates[1] >= 0][:, als_features].isnan().all()
    assert not features[0][candidates[0] >= 0][:, als_features].isnan().any()
    assert all(len(served) for served, _ in bound.ranked(shoppers, history))


def test_a_version_user_without_interactions_is_scored_as_the_evaluation_scores_one(
    tmp_path: Path,
) -> None:
    """The GNN scores, in evaluation, only users with training pairs; serving does the same.

    A shopper the version holds (imported, a vector from ``kgrec embed``) but who
    never interacted has the factor model's features missing, as a user without
    training pairs has when the ranker is trained and evaluated.
    """
    train, val, users, items = taste_clusters()
    gen = torch.Generator().manual_seed(3)
    user_vectors, item_vectors = torch.randn(users, 4, generator=gen), torch.randn(items, 4)
    staged, generators = fitted_staged(
        train,
        val,
        users,
        items,
        extra={"gnn": FactorTable("gnn", user_vectors, item_vectors)},
        factor_models=("gnn",),
    )
    knn = generators["item_knn"]
    assert isinstance(knn, ItemKNN)
    idle = 0  # in the version, without a single interaction
    _version_trained_on(tmp_path, staged, knn, train[:, train[0] != idle])
    stored = load_ranking(tmp_path)
    assert stored is not None
    bound = stored.bind(user_vectors, item_vectors, torch.randn(items, 8))
    features, candidates = bound._stage(torch.tensor([idle, 1]), train, False)
    gnn = [i for i, name in enumerate(bound.features) if name.startswith("gnn")]
    assert features[0][candidates[0] >= 0][:, gnn].isnan().all()
    assert not features[1][candidates[1] >= 0][:, gnn].isnan().any()
    # scored as the ranker's training scores a simulated cold user, with or without
    # events recorded since the version (here two of its products)
    events = torch.tensor([[idle, idle], [int(train[1][0]), int(train[1][1])]])
    for history in (train[:, train[0] != idle], torch.cat([train[:, train[0] != idle], events], 1)):
        served, served_candidates = bound._stage(torch.tensor([idle]), history, False)
        cold, cold_candidates = bound._stage(torch.tensor([idle]), history, True)
        assert torch.equal(served_candidates, cold_candidates)
        torch.testing.assert_close(served, cold, rtol=0, atol=0, equal_nan=True)
    # a shopper the version lacks: the GNN's row is flat (all 0), so it proposes
    # nothing; before, it "proposed" the first products by row number
    stranger = torch.tensor([users])
    its_events = torch.tensor([[users, users], [int(train[1][0]), int(train[1][1])]])
    ((served_list, _, proposed),) = bound.ranked_with_proposers(stranger, its_events)
    assert len(served_list) and not proposed["gnn"].any()
    assert proposed["item_knn"].any() or proposed["popularity"].any()


def test_a_version_trained_with_an_unknown_generator_names_the_valid_ones(
    tmp_path: Path,
) -> None:
    train, val, users, items = taste_clusters()
    staged, generators = fitted_staged(train, val, users, items, per_generator=10)
    knn = generators["item_knn"]
    assert isinstance(knn, ItemKNN)
    _version_trained_on(tmp_path, staged, knn, train)
    stages = tmp_path / RANKING_DIR / STAGES_FILE
    meta = json.loads(stages.read_text())
    stages.write_text(json.dumps({**meta, "generators": ["item_knn", "sequence_model"]}))
    with pytest.raises(ModelError, match=r"\['sequence_model'\] this kgrec does not serve.*als"):
        load_ranking(tmp_path)


def test_a_shopper_without_history_gets_the_candidates_by_popularity() -> None:
    train, val, users, items = taste_clusters()
    staged, _ = fitted_staged(train, val, users, items, per_generator=10, fresh_share=0.0)
    history = train[:, train[0] != 0]  # user 0 has done nothing yet
    ((served, scores),) = staged.ranked(torch.tensor([0]), history)
    warm = staged.item_count[served] > 0
    counts = staged.item_count[served[warm]].tolist()
    assert counts == sorted(counts, reverse=True)
    assert not torch.isnan(scores[warm]).any()  # the ranker's own scores, as reported
    ((with_history, _),) = staged.ranked(torch.tensor([0]), train)
    assert set(with_history.tolist()).isdisjoint(train[1, train[0] == 0].tolist())


def test_a_shopper_whose_products_are_all_fresh_gets_products_like_them() -> None:
    """No co-interaction table holds its products: the content generators order its list."""
    train, val, users, items, text = lopsided_tastes()
    options: dict[str, Any] = {
        "extra": {"text_knn": TextKNN(text)},
        "per_generator": 10,
        "fresh_share": 0.0,
    }
    staged, fitted = fitted_staged(train, val, users, items, fresh_history=("text_knn",), **options)
    viewed_fresh = torch.cat([train, torch.tensor([[40], [20]])], dim=1)  # new user 40
    ((served, scores),) = staged.ranked(torch.tensor([40]), viewed_fresh)
    assert set(served[:10].tolist()) == set(range(10, 20)), served  # like product 20
    text_order = fitted["text_knn"].scores(torch.tensor([40]), viewed_fresh)[0, served]
    assert (text_order[:-1] >= text_order[1:]).all(), text_order  # not the ranker's order
    assert not torch.isnan(scores).any()  # the ranker's own scores, as reported
    # every other shopper keeps the ranker's order: the same as with the rule off
    plain, _ = fitted_staged(train, val, users, items, fresh_history=(), **options)
    viewed_warm = torch.cat([viewed_fresh, torch.tensor([[40], [3]])], dim=1)
    for history in (train, viewed_warm):
        for user in (0, 35, 40):
            ((mine, _),) = staged.ranked(torch.tensor([user]), history)
            ((theirs, _),) = plain.ranked(torch.tensor([user]), history)
            assert torch.equal(mine, theirs), user
