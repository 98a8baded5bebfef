"""The learned ranker's training groups: warm validation users and simulated cold ones.

:meth:`~kgrec.gnn.ranking.staged.StagedRanking.fit` trains the ranker on the
groups :func:`training_groups` collects, never on a test pair:

* **warm groups**: each validation user, its history the training pairs, its
  labels its validation pairs;
* **cold groups**: validation users with a long history, re-scored as if only
  ``k`` of their training products were known (k = ``StagedConfig.cold_reveal``;
  their earliest, ``StagedConfig.cold_order``) and labelled with all their other
  products, as a real cold user is tested. With ``StagedConfig.cold_folds`` they
  are scored fold by fold by generators refitted without the fold's pairs
  (:func:`refitted_without`), so a revealed product's neighbours, factors and
  counts do not hold the shopper's own hidden products, as for a real new shopper.

A group is one user's candidates (rows of features, labels 1 where the
candidate is among the user's labels); users whose candidates hold no label
are left out.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from kgrec.gnn.baselines import Recommender, history_matrix
from kgrec.gnn.ranking.config import ColdOrder, StagedConfig
from kgrec.gnn.splits import pair_keys

log = logging.getLogger(__name__)

FeatureStage = Callable[[Tensor, Tensor, bool], tuple[Tensor, Tensor]]
"""(users [B], history [2, E], simulated cold) -> (features [B, C, F], candidates [B, C])."""
FoldStage = Callable[[Tensor], FeatureStage]
"""users [U] -> the feature stage of generators refitted without their training pairs."""
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
    fold_stage: FoldStage | None = None,
) -> TrainingGroups:
    """The warm and simulated cold groups of ``val`` [2, E_val] over ``train`` [2, E].

    ``config.cold_users`` validation users with at least ``config.min_cold_history``
    training products are drawn (seeded by ``config.ranker.seed``) and re-scored
    once per ``config.cold_reveal`` length, in ``config.cold_folds`` folds each
    scored by ``fold_stage(fold)`` when it is given (by ``stage`` otherwise).
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
    folded = fold_stage is not None and config.cold_folds > 0
    folds = torch.tensor_split(chosen, config.cold_folds) if folded else (chosen,)
    for fold in folds:
        if not len(fold):
            continue
        scorer = fold_stage(fold) if fold_stage is not None and folded else stage
        for k in config.cold_reveal:
            history = reveal(train, fold, k, gen, config.cold_order)
            # targets: everything of theirs not revealed, as for a real cold user
            mine = torch.isin(train[0], fold)
            hidden_keys = pair_keys(history, num_items)
            rest = train[:, mine & ~torch.isin(pair_keys(train, num_items), hidden_keys)]
            targets = torch.cat([rest, val[:, torch.isin(val[0], fold)]], dim=1)
            _collect(scorer, fold, history, targets, num_items, True, xs, ys, sizes)
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


def reveal(
    train: Tensor, users: Tensor, k: int, gen: torch.Generator, order: ColdOrder = "random"
) -> Tensor:
    """``train`` [2, E] with ``users``' pairs replaced by ``k`` of theirs.

    ``order`` "earliest": each user's first ``k`` pairs, in order (``train`` holds
    each user's pairs oldest first); "random": ``k`` drawn with ``gen``, in random order.
    """
    mine = torch.isin(train[0], users)
    kept = train[:, ~mine]
    theirs = train[:, mine]
    shuffled = theirs
    if order == "random":
        shuffled = theirs[:, torch.randperm(theirs.shape[1], generator=gen)]
    order_of = torch.argsort(shuffled[0], stable=True)
    shuffled = shuffled[:, order_of]
    counts = torch.bincount(shuffled[0])
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.arange(shuffled.shape[1]) - starts[shuffled[0]]
    return torch.cat([kept, shuffled[:, rank < k]], dim=1)


def refitted_without(
    generators: Mapping[str, Recommender],
    train: Tensor,
    users: Tensor,
    num_users: int,
    num_items: int,
    keep: Sequence[str] = (),
) -> dict[str, Recommender]:
    """Copies of ``generators`` refitted on ``train`` [2, E] less ``users``' [U] pairs.

    Each generator is copied shallowly and fitted again with its chosen
    hyper-parameters (no tuning), in order, so what it holds apart from its fit
    (text vectors, knowledge-graph links) is shared, not copied; a copy that read
    another generator (recent item-kNN reads item-kNN's neighbours) reads that
    one's copy. ``keep`` names generators taken as they are (the factor models,
    which are marked unavailable to simulated cold users). The originals are left
    as they were.
    """
    start = time.perf_counter()
    rest = train[:, ~torch.isin(train[0], users)]
    copies = {name: copy.copy(g) for name, g in generators.items() if name not in keep}
    copy_of = {id(generators[name]): name for name in copies}
    read: set[str] = set()  # copies another copy reads: fitted first
    for c in copies.values():
        for attribute, value in vars(c).items():
            if id(value) in copy_of:
                read.add(copy_of[id(value)])
                setattr(c, attribute, copies[copy_of[id(value)]])
    for name in sorted(copies, key=lambda n: n not in read):  # stable: else in order
        copies[name].fit(rest, num_users, num_items, None)
    log.info(
        "%d generators refitted without %d simulated cold users in %.1f s",
        len(copies),
        len(users),
        time.perf_counter() - start,
    )
    return {name: copies.get(name, g) for name, g in generators.items()}
