"""The learned ranker's training groups: warm validation users and simulated cold ones.

:meth:`~kgrec.gnn.ranking.staged.StagedRanking.fit` trains the ranker on the
groups :func:`training_groups` collects, never on a test pair:

* **warm groups**: each validation user, its history the training pairs, its
  labels its validation pairs;
* **cold groups**: validation users with a long history, re-scored as if only
  ``k`` of their training products were known (k = ``StagedConfig.cold_reveal``)
  and labelled with all their other products, as a real cold user is tested.

A group is one user's candidates (rows of features, labels 1 where the
candidate is among the user's labels); users whose candidates hold no label
are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from kgrec.gnn.baselines import history_matrix
from kgrec.gnn.ranking.config import StagedConfig
from kgrec.gnn.splits import pair_keys

FeatureStage = Callable[[Tensor, Tensor, bool], tuple[Tensor, Tensor]]
"""(users [B], history [2, E], simulated cold) -> (features [B, C, F], candidates [B, C])."""
BATCH_USERS = 1024
"""Users scored per pass of the feature stage."""


@dataclass(frozen=True)
class TrainingGroups:
    """The ranker's training rows.

    Attributes:
        x: float32 [N, F] the candidates' features, group after group.
        y: int32 [N] 1 where the candidate is one of the user's labels.
        sizes: int [G] rows per group, in order.
        label_pairs: [2, L] every (user, product) used as a label (for
            :meth:`~kgrec.gnn.ranking.staged.StagedRanking.assert_no_test_labels`).
    """

    x: np.ndarray
    y: np.ndarray
    sizes: np.ndarray
    label_pairs: Tensor


def training_groups(
    stage: FeatureStage,
    train: Tensor,
    val: Tensor,
    num_users: int,
    num_items: int,
    config: StagedConfig,
) -> TrainingGroups:
    """The warm and simulated cold groups of ``val`` [2, E_val] over ``train`` [2, E].

    ``config.cold_users`` validation users with at least ``config.min_cold_history``
    training products are drawn (seeded by ``config.ranker.seed``) and re-scored
    once per ``config.cold_reveal`` length.
    """
    gen = torch.Generator().manual_seed(config.ranker.seed)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    sizes: list[int] = []
    labels = [val]
    val_users = torch.unique(val[0])
    _collect(stage, val_users, train, val, num_items, False, xs, ys, sizes)
    counts = torch.bincount(train[0], minlength=num_users)
    eligible = val_users[counts[val_users] >= config.min_cold_history]
    chosen = eligible[torch.randperm(len(eligible), generator=gen)[: config.cold_users]]
    if len(chosen):
        for k in config.cold_reveal:
            history = reveal(train, chosen, k, gen)
            # targets: everything of theirs not revealed, as for a real cold user
            mine = torch.isin(train[0], chosen)
            hidden_keys = pair_keys(history, num_items)
            rest = train[:, mine & ~torch.isin(pair_keys(train, num_items), hidden_keys)]
            targets = torch.cat([rest, val[:, torch.isin(val[0], chosen)]], dim=1)
            _collect(stage, chosen, history, targets, num_items, True, xs, ys, sizes)
            labels.append(targets)
    return TrainingGroups(
        np.concatenate(xs), np.concatenate(ys), np.array(sizes), torch.cat(labels, dim=1)
    )


def _collect(
    stage: FeatureStage,
    users: Tensor,
    history: Tensor,
    labels: Tensor,
    num_items: int,
    simulated_cold: bool,
    xs: list[np.ndarray],
    ys: list[np.ndarray],
    sizes: list[int],
) -> None:
    """Append the candidate rows of ``users`` (groups with at least one label)."""
    for start in range(0, len(users), BATCH_USERS):
        batch = users[start : start + BATCH_USERS]
        feats, cands = stage(batch, history, simulated_cold)
        target = history_matrix(labels, batch, num_items).bool()
        hit = target.gather(1, cands.clamp(min=0)) & (cands >= 0)
        for b in range(len(batch)):
            valid = cands[b] >= 0
            if not bool(hit[b][valid].any()):
                continue
            xs.append(feats[b][valid].numpy())
            ys.append(hit[b][valid].numpy().astype(np.int32))
            sizes.append(int(valid.sum()))


def reveal(train: Tensor, users: Tensor, k: int, gen: torch.Generator) -> Tensor:
    """``train`` with ``users``' pairs replaced by ``k`` random ones of theirs."""
    mine = torch.isin(train[0], users)
    kept = train[:, ~mine]
    theirs = train[:, mine]
    shuffled = theirs[:, torch.randperm(theirs.shape[1], generator=gen)]
    order = torch.argsort(shuffled[0], stable=True)
    shuffled = shuffled[:, order]
    counts = torch.bincount(shuffled[0])
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.arange(shuffled.shape[1]) - starts[shuffled[0]]
    return torch.cat([kept, shuffled[:, rank < k]], dim=1)
