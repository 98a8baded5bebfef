"""Evaluation splits: warm, cold-item and cold-user (k revealed), built without leakage.

One :class:`SplitPlan` per seed partitions the (deduplicated) user -> product
interactions once; every split view shares its training pairs, so one trained
model serves all of them:

* **warm**: per known user, the latest ``test_fraction`` of its interactions (at
  least one) are test, the ones before them (``val_fraction``) validation.
* **cold-item**: ``cold_item_fraction`` of the interacted products lose every
  interaction; they stay in the graph with brand, category, entities and text.
* **cold-user**: ``cold_user_fraction`` of the users with enough history lose every
  interaction from training; at evaluation their earliest ``k`` interactions are
  revealed (k = 0, 1, 3) and the rest are test.

:func:`assert_no_leakage` checks every invariant and runs inside the builder.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor

from kgrec.errors import ModelError


@dataclass(frozen=True)
class Interactions:
    """User -> product interactions as index tensors.

    Attributes:
        users: [E] int64 user index.
        items: [E] int64 product index.
        ts: [E] int64 timestamp (ties keep input order).
        num_users: U.
        num_items: P.
    """

    users: Tensor
    items: Tensor
    ts: Tensor
    num_users: int
    num_items: int

    def dedup(self) -> Interactions:
        """One row per (user, item) pair, keeping the latest timestamp.

        The rows come in timestamp order (ties by user, then product): every
        subset taken with a mask keeps each user's pairs oldest first, the order
        the recency-weighted generators read a history in.
        """
        key = self.users * self.num_items + self.items
        order = torch.argsort(self.ts, stable=True)
        key_sorted = key[order]
        uniq, inverse = torch.unique(key_sorted, return_inverse=True)
        last = torch.zeros(len(uniq), dtype=torch.long)
        last.scatter_reduce_(
            0, inverse, torch.arange(len(key_sorted)), reduce="amax", include_self=False
        )
        pick = order[last]  # (user, product) order
        pick = pick[torch.argsort(self.ts[pick], stable=True)]
        return Interactions(
            self.users[pick], self.items[pick], self.ts[pick], self.num_users, self.num_items
        )


def pair_keys(pairs: Tensor, num_items: int) -> Tensor:
    """[E] int64 keys ``user * P + item`` of pairs [2, E]."""
    return pairs[0] * num_items + pairs[1]


@dataclass(frozen=True)
class SplitView:
    """One evaluation view.

    Attributes:
        name: ``warm``, ``cold_item``, ``cold_item/cold_only`` or ``cold_user@k``.
        revealed: [2, R] pairs known at inference only (added to the graph and the
            history of the test users; never trained on).
        test: [2, T] held-out pairs to retrieve.
        candidates: [C] the products ranked (None = every product).
    """

    name: str
    revealed: Tensor
    test: Tensor
    candidates: Tensor | None = None

    @property
    def test_users(self) -> Tensor:
        """[B] sorted distinct users with at least one test pair."""
        users: Tensor = torch.unique(self.test[0])
        return users


@dataclass(frozen=True)
class SplitPlan:
    """Training pairs shared by every view, validation pairs, and the views.

    Attributes:
        train: [2, E_train] pairs the models train on (and the GNN passes messages over).
        val: [2, E_val] warm validation pairs (early stopping), not in ``train``.
        views: name -> :class:`SplitView`.
        cold_items: [C] products without any training interaction.
        cold_users: [D] users without any training interaction.
        num_users: U.
        num_items: P.
        seed: the seed that drew it.
        known: [2, E_train + E_val] ``train`` and ``val`` together in timestamp
            order, where a user's validation pairs can come before some of its
            training pairs (the ``random`` protocol); None: ``train`` then ``val``
            is that order already (every validation pair of a user is later than
            its training pairs).
    """

    train: Tensor
    val: Tensor
    views: dict[str, SplitView]
    cold_items: Tensor
    cold_users: Tensor
    num_users: int
    num_items: int
    seed: int
    known: Tensor | None = None

    def history(self, view: SplitView) -> Tensor:
        """[2, E] what a shopper of ``view`` had done before its test pairs, oldest first.

        The training and validation pairs (in timestamp order, :attr:`known`)
        and the view's revealed ones (a plan scored on its validation pairs, as
        the retraining gate's, leaves them out: :func:`without_validation_history`).
        As when serving, where every recorded event is in the shopper's history
        and excluded from its answers whether or not the models were trained on
        it: the models are fitted on ``train`` only (the ranker and the early
        stopping learn from ``val``), but at test time every method reads the
        validation pairs too, and none of them is ranked. Under the ``kgrec``
        protocol they belong to warm users only (the cold-user views read train
        + revealed); under ``random`` and ``replay``, to whoever acted in them.
        """
        known = self.known if self.known is not None else torch.cat([self.train, self.val], 1)
        return torch.cat([known, view.revealed], dim=1)


def without_validation_history(plan: SplitPlan) -> SplitPlan:
    """``plan`` whose history is the training (and revealed) pairs only.

    For views whose targets are the validation pairs: the retraining gate scores
    both versions on them, so they cannot be the shoppers' history there.
    """
    return replace(plan, val=plan.val[:, :0], known=None)


def per_user_rank(users: Tensor, ts: Tensor, num_users: int) -> tuple[Tensor, Tensor, Tensor]:
    """Order by (user, ts); return the order, rank within user [E] and count per user [U]."""
    order = torch.argsort(ts, stable=True)
    order = order[torch.argsort(users[order], stable=True)]
    counts = torch.bincount(users, minlength=num_users)
    starts = torch.cumsum(counts, 0) - counts
    rank_sorted = torch.arange(len(users)) - starts[users[order]]
    rank = torch.empty_like(rank_sorted)
    rank[order] = rank_sorted
    return order, rank, counts


def build_splits(
    inter: Interactions,
    *,
    seed: int,
    cold_item_fraction: float = 0.1,
    cold_user_fraction: float = 0.1,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
    revealed: tuple[int, ...] = (0, 1, 3),
    min_cold_user_history: int = 8,
) -> SplitPlan:
    """Partition ``inter`` into a :class:`SplitPlan` (deterministic in ``seed``).

    Raises:
        ModelError: too few interactions to hold anything out.
    """
    inter = inter.dedup()
    if len(inter.users) < 10:
        raise ModelError(
            f"{len(inter.users)} distinct interactions are too few to evaluate; "
            "import a dataset first (`kgrec import --dataset ml-100k`)"
        )
    gen = torch.Generator().manual_seed(seed)
    u_n, p_n = inter.num_users, inter.num_items
    active_items = torch.unique(inter.items)
    n_cold_items = max(int(cold_item_fraction > 0), round(cold_item_fraction * len(active_items)))
    cold_items = active_items[torch.randperm(len(active_items), generator=gen)[:n_cold_items]]
    cold_items = cold_items.sort().values
    is_cold_item = torch.isin(inter.items, cold_items)

    warm_counts = torch.bincount(inter.users[~is_cold_item], minlength=u_n)
    eligible = (warm_counts >= min_cold_user_history).nonzero().flatten()
    n_cold_users = round(cold_user_fraction * len(eligible))
    cold_users = eligible[torch.randperm(len(eligible), generator=gen)[:n_cold_users]]
    cold_users = cold_users.sort().values
    is_cold_user = torch.isin(inter.users, cold_users)

    pairs = torch.stack([inter.users, inter.items])
    views: dict[str, SplitView] = {}
    empty = pairs[:, :0]

    # cold-item: every interaction of a cold item by a non-cold user is a target
    cold_item_test = pairs[:, is_cold_item & ~is_cold_user]
    views["cold_item"] = SplitView("cold_item", empty, cold_item_test)
    # the same targets ranked among the cold products only (the usual item cold-start
    # protocol: what a model does with items it never saw, without competing with
    # warm items' popularity; serving adds new items to the candidates this way)
    views["cold_item/cold_only"] = SplitView(
        "cold_item/cold_only", empty, cold_item_test, candidates=cold_items
    )

    # cold-user: earliest k warm-item interactions revealed, the rest are test
    cu = ~is_cold_item & is_cold_user
    _, rank, _ = per_user_rank(inter.users[cu], inter.ts[cu], u_n)
    cu_pairs = pairs[:, cu]
    for k in revealed:
        views[f"cold_user@{k}"] = SplitView(
            f"cold_user@{k}", cu_pairs[:, rank < k], cu_pairs[:, rank >= k]
        )

    # warm: temporal holdout per known user on warm items
    w = ~is_cold_item & ~is_cold_user
    w_users, w_ts, w_pairs = inter.users[w], inter.ts[w], pairs[:, w]
    _, rank, counts = per_user_rank(w_users, w_ts, u_n)
    n = counts[w_users]
    n_test = torch.where(
        (n >= 3) & (test_fraction > 0), torch.clamp((n * test_fraction).long(), min=1), 0
    )
    n_val = torch.where(
        (n >= 5) & (val_fraction > 0), torch.clamp((n * val_fraction).long(), min=1), 0
    )
    from_end = n - 1 - rank
    is_test = from_end < n_test
    is_val = ~is_test & (from_end < n_test + n_val)
    train = w_pairs[:, ~is_test & ~is_val]
    val = w_pairs[:, is_val]
    views["warm"] = SplitView("warm", empty, w_pairs[:, is_test])
    plan = SplitPlan(train, val, views, cold_items, cold_users, u_n, p_n, seed)
    assert_no_leakage(plan)
    return plan


def assert_no_leakage(plan: SplitPlan) -> None:
    """Check that no held-out interaction reaches training or a model's input.

    Raises:
        AssertionError: naming the invariant that failed.
    """
    p_n = plan.num_items
    train_keys = pair_keys(plan.train, p_n)
    val_keys = pair_keys(plan.val, p_n)
    assert not torch.isin(val_keys, train_keys).any(), "validation pair in training"
    if plan.known is not None:
        both = torch.cat([train_keys, val_keys]).sort().values
        assert torch.equal(pair_keys(plan.known, p_n).sort().values, both), (
            "known pairs are not the training and validation pairs"
        )
    for side, ids, what in ((1, plan.cold_items, "cold item"), (0, plan.cold_users, "cold user")):
        assert not torch.isin(plan.train[side], ids).any(), f"{what} in training pairs"
        assert not torch.isin(plan.val[side], ids).any(), f"{what} in validation pairs"
    for view in plan.views.values():
        test_keys = pair_keys(view.test, p_n)
        rev_keys = pair_keys(view.revealed, p_n)
        assert not torch.isin(test_keys, train_keys).any(), f"{view.name}: test pair in training"
        assert not torch.isin(test_keys, val_keys).any(), f"{view.name}: test pair in validation"
        assert not torch.isin(test_keys, rev_keys).any(), f"{view.name}: test pair revealed"
        assert torch.isin(view.revealed[0], plan.cold_users).all(), (
            f"{view.name}: revealed pairs of a non-cold user"
        )
        if view.name.startswith("cold_item"):
            assert torch.isin(view.test[1], plan.cold_items).all(), "cold_item: warm target"
        if view.name.startswith("cold_user"):
            assert torch.isin(view.test[0], plan.cold_users).all(), "cold_user: warm user"
            assert not torch.isin(view.test[1], plan.cold_items).any(), "cold_user: cold item"
