"""Matrix factorisation trained with BPR (warm baseline; folds in cold users)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from kgrec.gnn.baselines.base import (
    history_matrix,
    item_popularity,
    one_torch_thread,
    row_scores,
)
from kgrec.gnn.baselines.sparse import history_csr
from kgrec.gnn.baselines.tuning import Params, as_float, as_int, grid_of, tune
from kgrec.gnn.early_stopping import EarlyStopping
from kgrec.gnn.losses import bpr_loss
from kgrec.gnn.metrics import mean_metrics, rank_metrics

MF_GRID: tuple[Params, ...] = tuple(grid_of(dim=(256,), reg=(1e-4, 1e-3, 3e-3, 1e-2)))
"""4 points, 5-10 s each on one CPU thread on MovieLens-100K (early stopping included).
256 dimensions beat 128 on seeds 0-2 and 32 / 64 on seed 0; 512 scored +0.001 over
256 on seed 0 for 21 s per fit, so the dimension stays fixed and reg is tuned
(1e-3, 3e-3 and 1e-2 each won one of seeds 0-2 in a probe)."""


class MFBPR:
    """Free user and item vectors, BPR with one uniform negative per positive.

    A user without a trained vector (cold) is folded in as the mean vector of the
    items it revealed; an item without training interactions keeps its random
    initial vector (what MF can do for cold items). Early stopping on validation
    Recall@20 when validation pairs are given.

    Args:
        dim: factor width.
        epochs: maximum passes over the training pairs.
        lr: Adam learning rate.
        reg: L2 penalty on the vectors of each batch.
        batch_size: pairs per step.
        patience: epochs without a better validation Recall@20 before stopping.
        seed: initialisation and sampling seed.
        grid: ``dim`` / ``reg`` points tried when validation pairs are given, each
            fit with its own early stopping (empty: no tuning).
    """

    name = "mf_bpr"

    def __init__(
        self,
        dim: int = 64,
        epochs: int = 60,
        lr: float = 0.005,
        reg: float = 1e-4,
        batch_size: int = 2048,
        patience: int = 5,
        seed: int = 0,
        grid: Sequence[Mapping[str, object]] = MF_GRID,
    ) -> None:
        self.dim, self.epochs, self.lr, self.reg = dim, epochs, lr, reg
        self.batch_size, self.patience, self.seed = batch_size, patience, seed
        self.grid = tuple(grid)
        self.chosen: Params = {"dim": dim, "reg": reg}
        self.validation: list[tuple[Params, float]] = []
        self.user = torch.zeros(0, dim)
        self.item = torch.zeros(0, dim)
        self.known = torch.zeros(0, dtype=torch.bool)
        self.pop = torch.zeros(0)

    def _with(self, params: Params) -> MFBPR:
        return MFBPR(
            as_int(params.get("dim", self.dim)),
            self.epochs,
            self.lr,
            as_float(params.get("reg", self.reg)),
            self.batch_size,
            self.patience,
            self.seed,
            grid=(),
        )

    def fit(self, train: Tensor, num_users: int, num_items: int, val: Tensor | None = None) -> None:
        """Train user [U, dim] and item [P, dim] vectors on ``train`` [2, E]."""
        if val is not None and val.numel() and self.grid:
            tuned = tune(self._with, self.grid, train, num_users, num_items, val)
            top = tuned.best
            self.dim, self.reg, self.user, self.item = top.dim, top.reg, top.user, top.item
            self.known, self.pop = top.known, top.pop
            self.chosen, self.validation = {"dim": self.dim, "reg": self.reg}, tuned.scores
            return
        self.chosen, self.validation = {"dim": self.dim, "reg": self.reg}, []
        with one_torch_thread():
            self._train(train, num_users, num_items, val)

    def _train(self, train: Tensor, num_users: int, num_items: int, val: Tensor | None) -> None:
        """One BPR run with early stopping on ``val`` (sets user, item, known, pop)."""
        gen = torch.Generator().manual_seed(self.seed)
        user = torch.nn.Parameter(torch.randn(num_users, self.dim, generator=gen) * 0.1)
        item = torch.nn.Parameter(torch.randn(num_items, self.dim, generator=gen) * 0.1)
        opt = torch.optim.Adam([user, item], lr=self.lr)
        n = train.shape[1]

        def vectors() -> tuple[Tensor, Tensor]:
            return user.detach().clone(), item.detach().clone()

        stopper: EarlyStopping[tuple[Tensor, Tensor]] = EarlyStopping(self.patience)
        val_users = torch.unique(val[0]) if val is not None and val.numel() else None
        for _ in range(self.epochs):
            perm = torch.randperm(n, generator=gen)
            for start in range(0, n, self.batch_size):
                idx = perm[start : start + self.batch_size]
                u, p = train[0, idx], train[1, idx]
                q = torch.randint(0, num_items, (len(idx),), generator=gen)
                loss = bpr_loss(user[u], item[p], item[q], self.reg)
                opt.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                opt.step()
            if val is None or val_users is None:
                continue
            with torch.no_grad():
                s = user[val_users] @ item.T
                target = history_matrix(val, val_users, num_items).bool()
                seen = history_matrix(train, val_users, num_items).bool()
                r20 = mean_metrics(rank_metrics(s, target, seen, ks=(20,)))["recall@20"]
            stopper.step((r20,), vectors)
            if stopper.should_stop:
                break
        best = stopper.best_state
        self.user, self.item = vectors() if val is None or best is None else best
        self.known = torch.zeros(num_users, dtype=torch.bool)
        self.known[train[0]] = True
        self.pop = item_popularity(train, num_items)

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P] dot products; cold users folded in from their history."""
        hist = history_csr(history, users, self.item.shape[0])  # sparse: row by row
        count = torch.from_numpy(np.diff(hist.indptr)).float()[:, None]
        summed = torch.from_numpy(np.asarray(hist @ self.item.numpy(), dtype=np.float32))
        folded = summed / count.clamp(min=1.0)
        vec = torch.where(self.known[users][:, None], self.user[users], folded)
        out = row_scores(self.item, vec)  # a user scores the same bits in any batch
        out[(count.squeeze(1) == 0) & ~self.known[users]] = self.pop
        return out
