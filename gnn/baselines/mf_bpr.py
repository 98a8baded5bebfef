"""Matrix factorisation trained with BPR (warm baseline; folds in cold users)."""

from __future__ import annotations

import torch
from torch import Tensor

from gnn.baselines.base import history_matrix, item_popularity
from gnn.metrics import mean_metrics, rank_metrics


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
    ) -> None:
        self.dim, self.epochs, self.lr, self.reg = dim, epochs, lr, reg
        self.batch_size, self.patience, self.seed = batch_size, patience, seed
        self.user = torch.zeros(0, dim)
        self.item = torch.zeros(0, dim)
        self.known = torch.zeros(0, dtype=torch.bool)
        self.pop = torch.zeros(0)

    def fit(self, train: Tensor, num_users: int, num_items: int, val: Tensor | None = None) -> None:
        """Train user [U, dim] and item [P, dim] vectors on ``train`` [2, E]."""
        gen = torch.Generator().manual_seed(self.seed)
        user = torch.nn.Parameter(torch.randn(num_users, self.dim, generator=gen) * 0.1)
        item = torch.nn.Parameter(torch.randn(num_items, self.dim, generator=gen) * 0.1)
        opt = torch.optim.Adam([user, item], lr=self.lr)
        n = train.shape[1]
        best, best_state, since = -1.0, (user.detach().clone(), item.detach().clone()), 0
        val_users = torch.unique(val[0]) if val is not None and val.numel() else None
        for _ in range(self.epochs):
            perm = torch.randperm(n, generator=gen)
            for start in range(0, n, self.batch_size):
                idx = perm[start : start + self.batch_size]
                u, p = train[0, idx], train[1, idx]
                q = torch.randint(0, num_items, (len(idx),), generator=gen)
                eu, ep, eq = user[u], item[p], item[q]
                diff = (eu * ep).sum(1) - (eu * eq).sum(1)
                penalty = eu.pow(2).sum(1) + ep.pow(2).sum(1) + eq.pow(2).sum(1)
                loss = -torch.nn.functional.logsigmoid(diff).mean() + self.reg * penalty.mean()
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
            if r20 > best:
                best, since = r20, 0
                best_state = (user.detach().clone(), item.detach().clone())
            else:
                since += 1
                if since >= self.patience:
                    break
        if val is None:
            best_state = (user.detach().clone(), item.detach().clone())
        self.user, self.item = best_state
        self.known = torch.zeros(num_users, dtype=torch.bool)
        self.known[train[0]] = True
        self.pop = item_popularity(train, num_items)

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P] dot products; cold users folded in from their history."""
        hist = history_matrix(history, users, self.item.shape[0])
        count = hist.sum(1, keepdim=True)
        folded = (hist @ self.item) / count.clamp(min=1.0)
        vec = torch.where(self.known[users][:, None], self.user[users], folded)
        out = vec @ self.item.T
        out[(count.squeeze(1) == 0) & ~self.known[users]] = self.pop
        return out
