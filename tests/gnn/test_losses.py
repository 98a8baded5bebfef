"""The BPR loss and the early stopping the GNN trainer and MF-BPR share."""

from __future__ import annotations

from functools import partial

import pytest
import torch
from torch_geometric.nn.models.lightgcn import BPRLoss

from kgrec.errors import ConfigError
from kgrec.gnn.early_stopping import EarlyStopping
from kgrec.gnn.losses import bpr_loss


@pytest.mark.parametrize(("batch", "dim"), [(128, 16), (2048, 256)])
def test_bpr_loss_is_the_formula_both_used_and_pygs_loss(batch: int, dim: int) -> None:
    g = torch.Generator().manual_seed(0)
    eu, ep, en = (torch.randn(batch, dim, generator=g) for _ in range(3))
    reg = 1e-3
    # the formula the trainer and MF-BPR each wrote out before (commit 69e7d00)
    diff = (eu * ep).sum(-1) - (eu * en).sum(-1)
    penalty = (eu.pow(2).sum(-1) + ep.pow(2).sum(-1) + en.pow(2).sum(-1)).mean()
    before = -torch.nn.functional.logsigmoid(diff).mean() + reg * penalty
    loss = bpr_loss(eu, ep, en, reg)
    assert torch.equal(loss, before)
    pyg = BPRLoss(lambda_reg=reg)((eu * ep).sum(-1), (eu * en).sum(-1), torch.cat([eu, ep, en]))
    assert torch.allclose(loss, pyg, rtol=1e-5)
    assert bpr_loss(eu, ep, en, 0.0) < loss


def test_early_stopping_keeps_the_best_state_and_stops_after_patience() -> None:
    stopper: EarlyStopping[str] = EarlyStopping(patience=2)
    improved = []
    scores = [(0.1, 0.0), (0.3, 0.1), (0.3, 0.2), (0.3, 0.2), (0.2, 0.9), (0.9, 0.9)]
    for epoch, score in enumerate(scores):
        improved.append(stopper.step(score, f"state {epoch}".strip))
        if stopper.should_stop:
            break
    # a later entry breaks ties; an equal score is no improvement; stops at epoch 4
    assert improved == [True, True, True, False, False]
    assert stopper.best_state == "state 2" and stopper.best_score == (0.3, 0.2)


def test_early_stopping_takes_the_state_only_on_an_improvement() -> None:
    taken: list[float] = []

    def take(score: float) -> int:
        taken.append(score)
        return len(taken)

    stopper: EarlyStopping[int] = EarlyStopping(patience=5)
    for score in (1.0, 0.5, 2.0):
        stopper.step((score,), partial(take, score))
    assert taken == [1.0, 2.0] and stopper.best_state == 2 and not stopper.should_stop


def test_early_stopping_rejects_a_patience_below_one() -> None:
    with pytest.raises(ConfigError, match="patience"):
        EarlyStopping[int](patience=0)
