"""Peer popularity: votes of the shoppers most alike in declared attributes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from threadpoolctl import threadpool_limits

from kgrec.errors import ArtifactError, ConfigError
from kgrec.gnn.baselines import ItemKNN, Popularity, Recommender
from kgrec.gnn.ranking import RankerConfig, StagedConfig, StagedRanking
from kgrec.gnn.ranking.peer_popularity import (
    PeerPopularity,
    load_peer_voters,
    load_peer_weights,
    newcomer_weights,
    peer_weights,
    unit_rows,
    voter_similarities,
    with_later_shoppers,
)


def pairs(rows: list[tuple[int, int]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.long).T


# users 0-2 declared "a" and chose products 0 and 1; users 3-7 declared "b" and
# chose products 2, 3 and 4 (more shoppers: 2-4 are the popular ones); user 8
# declared "a" and has done nothing yet
GROUP_A, GROUP_B = torch.tensor([1.0, 0.1, 0.0]), torch.tensor([0.1, 1.0, 0.0])
ATTRIBUTES = torch.stack([GROUP_A] * 3 + [GROUP_B] * 5 + [GROUP_A])
TRAIN = pairs(
    [(u, p) for u in range(3) for p in (0, 1)] + [(u, p) for u in range(3, 8) for p in (2, 3, 4)]
)
USERS, ITEMS = 9, 5


def test_weights_keep_the_most_alike_shoppers_never_the_shopper_itself() -> None:
    w = peer_weights(ATTRIBUTES, neighbours=2).toarray()
    assert (w.diagonal() == 0).all()
    assert ((w > 0).sum(1) == 2).all()
    assert set(w[8].nonzero()[0].tolist()) <= {0, 1, 2}  # its group: cosine 1
    every = peer_weights(ATTRIBUTES, neighbours=0).toarray()
    assert ((every > 0).sum(1) == USERS - 1).all()
    assert peer_weights(torch.ones(4, 3), neighbours=2).nnz == 0  # nothing tells them apart


def test_a_shopper_without_history_gets_what_its_peers_chose() -> None:
    peer = PeerPopularity(ATTRIBUTES, neighbours=3, grid=())
    peer.fit(TRAIN, USERS, ITEMS)
    scores = peer.scores(torch.tensor([8]), TRAIN)[0]
    assert set(scores.topk(2).indices.tolist()) == {0, 1}
    pop = Popularity()
    pop.fit(TRAIN, USERS, ITEMS)
    assert set(pop.scores(torch.tensor([8]), TRAIN)[0].topk(2).indices.tolist()) <= {2, 3, 4}


def test_every_shopper_is_one_vote_whatever_its_history_length() -> None:
    # two heavy shoppers chose products 0-9; three light ones chose product 10 alone
    heavy = [(u, p) for u in range(2) for p in range(10)]
    train = pairs([*heavy, (2, 10), (3, 10), (4, 10)])
    same = torch.ones(6, 3)  # nothing declared tells them apart
    peer = PeerPopularity(same, neighbours=0, grid=())
    peer.fit(train, 6, 11)
    scores = peer.scores(torch.tensor([5]), train)[0]
    assert int(scores.argmax()) == 10  # 3 votes against 2 x 1/10 each
    assert scores[10] == pytest.approx(3.0, rel=1e-4)
    assert scores[0] == pytest.approx(0.2, rel=1e-4)


def test_a_shopper_past_the_weights_hears_every_voter_alike() -> None:
    peer = PeerPopularity(ATTRIBUTES, neighbours=3, grid=())
    peer.fit(TRAIN, USERS, ITEMS)
    outside = peer.scores(torch.tensor([USERS]), TRAIN)[0]
    # 3 voters for products 0-1 (1/2 each), 5 for products 2-4 (1/3 each)
    expected = torch.tensor([1.5, 1.5, 5 / 3, 5 / 3, 5 / 3])
    torch.testing.assert_close(outside, expected, rtol=1e-4, atol=1e-4)


def test_a_shopper_added_after_training_is_weighed_against_the_voters() -> None:
    """`kgrec embed`'s later shoppers get their own peers; the others' rows stay bit for bit."""
    peer = PeerPopularity(ATTRIBUTES, neighbours=3, grid=())
    peer.fit(TRAIN, USERS, ITEMS)
    later = torch.stack([GROUP_B, GROUP_A, torch.zeros(3)])  # "b", "a", a zero vector
    weights = with_later_shoppers(peer.weights, ATTRIBUTES, later, neighbours=3)
    assert weights.shape == (USERS + 3, USERS + 3)
    assert weights[:, USERS:].nnz == 0  # they vote for nobody until they are trained on
    top = weights[:USERS]  # the trained shoppers' rows: the same entries, in the same order
    for part in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(top, part), getattr(peer.weights, part)), part
    assert set(weights[USERS].nonzero()[1].tolist()) <= {3, 4, 5, 6, 7}
    assert set(weights[USERS + 1].nonzero()[1].tolist()) <= {0, 1, 2, 8}
    served = PeerPopularity.serving(weights, TRAIN, ITEMS)
    before = PeerPopularity.serving(peer.weights, TRAIN, ITEMS)
    old = torch.arange(USERS)
    assert torch.equal(served.scores(old, TRAIN), before.scores(old, TRAIN))
    scores = served.scores(torch.tensor([USERS, USERS + 1, USERS + 2]), TRAIN)
    assert set(scores[0].topk(3).indices.tolist()) == {2, 3, 4}  # what group b chose
    assert set(scores[1].topk(2).indices.tolist()) == {0, 1}  # what group a chose
    # a zero vector is alike to every voter: it hears them alike, as one past the weights
    torch.testing.assert_close(scores[2], before.scores(torch.tensor([USERS]), TRAIN)[0])
    assert with_later_shoppers(peer.weights, ATTRIBUTES, later[:0], 3) is peer.weights


def test_a_newcomer_is_scored_as_the_same_shopper_added_by_embed() -> None:
    """A shopper declaring online gets the row `kgrec embed` would store: the same scores."""
    peer = PeerPopularity(ATTRIBUTES, neighbours=3, grid=())
    peer.fit(TRAIN, USERS, ITEMS)
    later = torch.stack([GROUP_A, GROUP_B])
    stored = with_later_shoppers(peer.weights, ATTRIBUTES, later, neighbours=3)
    served = PeerPopularity.serving(stored, TRAIN, ITEMS)
    past = torch.tensor([USERS + 2])  # the row past the version's users: a newcomer's
    stranger = served.scores(past, TRAIN)
    for i in range(2):
        row = newcomer_weights(later[i : i + 1], unit_rows(ATTRIBUTES), 3, stored.shape[1])
        alone = served.with_newcomer(USERS + 2, row)
        embedded = served.scores(torch.tensor([USERS + i]), TRAIN)
        assert torch.equal(alone.scores(past, TRAIN), embedded)  # bit for bit
        # the copy leaves the served generator as it was, and every other row alike
        assert torch.equal(served.scores(past, TRAIN), stranger)
        others = torch.arange(USERS)
        assert torch.equal(alone.scores(others, TRAIN), served.scores(others, TRAIN))
    row_b = newcomer_weights(later[1:], unit_rows(ATTRIBUTES), 3, USERS + 2)
    newcomer = served.with_newcomer(USERS + 2, row_b)
    assert set(newcomer.scores(past, TRAIN)[0].topk(3).indices.tolist()) == {2, 3, 4}
    with pytest.raises(ValueError, match=r"must be \[1, 11\]"):
        served.with_newcomer(USERS, newcomer_weights(later, unit_rows(ATTRIBUTES), 3, USERS + 2))


def test_a_newcomer_gets_the_same_bits_alone_as_among_others() -> None:
    """The service weighs one newcomer at a time, `kgrec embed` many: the same rows."""
    gen = torch.Generator().manual_seed(0)
    voters = unit_rows(torch.randn(943, 384, generator=gen))
    later = torch.randn(40, 384, generator=gen)
    together = newcomer_weights(later, voters, 50, 983)
    for i in range(len(later)):
        alone = newcomer_weights(later[i : i + 1], voters, 50, 983)
        for part in ("indptr", "indices", "data"):
            assert np.array_equal(getattr(alone, part), getattr(together[i], part)), (i, part)
    assert together[:, 943:].nnz == 0 and (np.diff(together.indptr) == 50).all()


def test_a_newcomer_gets_the_same_bits_whatever_the_blas_threads() -> None:
    """`kgrec embed`, a request and a restart's restore run under other BLAS thread counts."""
    gen = torch.Generator().manual_seed(1)
    voters = unit_rows(torch.randn(20_001, 384, generator=gen))
    newcomer = torch.randn(1, 384, generator=gen)
    with threadpool_limits(limits=1, user_api="blas"):
        one = voter_similarities(newcomer, voters)
    with threadpool_limits(limits=2, user_api="blas"):
        two = voter_similarities(newcomer, voters)
    assert torch.equal(one, two)  # BLAS's product (row_scores) differed at 1 of 20,001
    torch.testing.assert_close(one, unit_rows(newcomer) @ voters.T)  # cosines


def test_a_zero_voter_row_is_nobodys_peer() -> None:
    """A voter forgotten in the running service (its row zeroed) is left out, not alike."""
    same = unit_rows(torch.ones(300, 8))
    assert newcomer_weights(torch.ones(1, 8), same, 200, 300).nnz == 0  # alike to all
    same[7] = 0.0
    assert newcomer_weights(torch.ones(1, 8), same, 200, 300).nnz == 0  # still
    mixed = unit_rows(torch.stack([GROUP_A] * 3 + [GROUP_B] * 5))
    mixed[1] = 0.0
    row = newcomer_weights(GROUP_A[None, :], mixed, 3, 8)
    peers = set(row.indices.tolist())  # its group less the forgotten one, then one of b
    assert {0, 2} < peers and 1 not in peers and len(peers & {3, 4, 5, 6, 7}) == 1


def test_a_voter_weighed_again_is_never_its_own_peer() -> None:
    """A shopper of the version declaring anew: its new peers, itself left out."""
    voters = unit_rows(ATTRIBUTES)
    again = newcomer_weights(GROUP_A[None, :], voters, 3, USERS, own=torch.tensor([0]))
    assert set(again.indices.tolist()) == {1, 2, 8}  # its group but itself
    plain = newcomer_weights(GROUP_A[None, :], voters, 3, USERS)
    assert 0 in set(plain.indices.tolist())
    none = newcomer_weights(GROUP_A[None, :], voters, 3, USERS, own=torch.tensor([-1]))
    assert (none != plain).nnz == 0


def test_an_empty_row_given_to_a_voter_hears_every_voter_alike() -> None:
    """A voter re-declared alike to everyone: not its stored (former) peers' order."""
    peer = PeerPopularity(ATTRIBUTES, neighbours=3, grid=())
    peer.fit(TRAIN, USERS, ITEMS)
    served = PeerPopularity.serving(peer.weights, TRAIN, ITEMS)
    voter, stranger = torch.tensor([0]), torch.tensor([USERS + 5])
    assert not torch.equal(served.scores(voter, TRAIN), served.scores(stranger, TRAIN))
    alike = served.with_newcomer(0, sp.csr_matrix((1, USERS), dtype=np.float32))
    assert torch.equal(alike.scores(voter, TRAIN), served.scores(stranger, TRAIN))


def test_peer_voters_that_cannot_be_read_name_the_file(tmp_path: Path) -> None:
    np.save(tmp_path / "flat.npy", np.zeros(3, np.float32))
    with pytest.raises(ArtifactError, match=r"flat\.npy holds an array of shape \(3,\)"):
        load_peer_voters(tmp_path / "flat.npy")
    with pytest.raises(ArtifactError, match=r"missing\.npy"):
        load_peer_voters(tmp_path / "missing.npy")


def test_neighbours_are_picked_on_validation() -> None:
    val = pairs([(0, 1), (4, 3)])
    train = TRAIN[:, ~(((TRAIN[0] == 0) & (TRAIN[1] == 1)) | ((TRAIN[0] == 4) & (TRAIN[1] == 3)))]
    peer = PeerPopularity(ATTRIBUTES, grid=({"neighbours": 2}, {"neighbours": 0}))
    peer.fit(train, USERS, ITEMS, val)
    assert [p for p, _ in peer.validation] == [{"neighbours": 2}, {"neighbours": 0}]
    assert peer.chosen == {"neighbours": peer.neighbours}
    assert peer.neighbours in (2, 0)
    with pytest.raises(ValueError, match="neighbours=-1"):
        PeerPopularity(ATTRIBUTES, neighbours=-1)


def test_served_weights_score_as_the_fitted_generator(tmp_path: Path) -> None:
    peer = PeerPopularity(ATTRIBUTES, neighbours=3, grid=())
    peer.fit(TRAIN, USERS, ITEMS)
    peer.save(tmp_path / "peer.npz")
    served = PeerPopularity.serving(load_peer_weights(tmp_path / "peer.npz"), TRAIN, ITEMS + 2)
    batch = torch.arange(USERS + 1)
    own = pairs([(8, 0)])  # serving votes with the version's pairs, not the history given
    out = served.scores(batch, own)
    torch.testing.assert_close(out[:, :ITEMS], peer.scores(batch, TRAIN))
    assert (out[:, ITEMS:] == 0).all()  # products added online: no votes yet
    with pytest.raises(ArtifactError, match=r"missing\.npz"):
        load_peer_weights(tmp_path / "missing.npz")


@pytest.mark.parametrize(("without_history", "first"), [("peer_popularity", 0), ("popularity", 10)])
def test_a_shopper_without_history_gets_the_peer_order_in_the_staged_ranking(
    without_history: str, first: int
) -> None:
    """20 shoppers declared "a" and like products 0-9, 30 declared "b" and like 10-19."""
    gen = torch.Generator().manual_seed(0)
    rows = []
    for u in range(50):
        base = 0 if u < 20 else 10
        rows += [(u, base + int(i)) for i in torch.randperm(10, generator=gen)[:6]]
    every = pairs(rows)
    val_mask = torch.arange(every.shape[1]) % 6 == 5
    train, val = every[:, ~val_mask], every[:, val_mask]
    attributes = torch.stack([GROUP_A] * 20 + [GROUP_B] * 30 + [GROUP_A])  # 50: new, "a"
    generators: dict[str, Recommender] = {
        "item_knn": ItemKNN(),
        "popularity": Popularity(),
        "peer_popularity": PeerPopularity(attributes, neighbours=10, grid=()),
    }
    for g in generators.values():
        g.fit(train, 51, 20, val)
    config = StagedConfig(
        fresh_generators=("item_knn",),
        fresh_popularity=(),
        fresh_history=(),
        without_history=without_history,
        cold_users=10,
        min_cold_history=3,
        ranker=RankerConfig(rounds=20, min_data_in_leaf=5),
    )
    staged = StagedRanking(generators, config=config)
    staged.fit(train, 51, 20, val)
    ((served, scores),) = staged.ranked(torch.tensor([50]), train)
    assert set(served[:5].tolist()) <= set(range(first, first + 10))
    assert not torch.isnan(scores[:10]).any()  # the ranker's own scores, as reported


def test_without_history_names_a_generator() -> None:
    with pytest.raises(ConfigError, match=r"without_history \['peer_popularity'\].*popularity"):
        config = StagedConfig(fresh_generators=(), fresh_popularity=(), fresh_history=())
        StagedRanking({"popularity": Popularity()}, config=config)
    old = StagedConfig.from_dict({"popularity_without_history": True})  # saved by 0.x
    assert old.without_history == "popularity"
    assert StagedConfig.from_dict({"popularity_without_history": False}).without_history == ""
    oldest = StagedConfig.from_dict({})  # saved before either: the ranker's order
    assert oldest.without_history == "" and oldest.rank_cap == 4096 and oldest.top_up == ""
    with pytest.raises(ConfigError, match=r"top_up \['pop'\] are not among the generators"):
        bare = StagedConfig(
            fresh_generators=(), fresh_popularity=(), fresh_history=(), without_history=""
        )
        StagedRanking({"popularity": Popularity()}, config=replace(bare, top_up="pop"))
    assert StagedConfig().rank_cap == 512
