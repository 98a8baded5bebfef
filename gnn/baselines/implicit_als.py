"""ALS for implicit feedback, from the ``implicit`` library (Hu, Koren & Volinsky 2008)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from implicit.cpu.als import AlternatingLeastSquares
from torch import Tensor

from kgrec.gnn.baselines.base import Recommender, item_popularity
from kgrec.gnn.baselines.sparse import history_csr, single_threaded_blas, user_item_csr
from kgrec.gnn.baselines.tuning import Params, as_float, as_int, grid_of, tune

ALS_GRID: tuple[Params, ...] = tuple(
    grid_of(factors=(32, 64, 128), regularization=(1.0, 10.0, 30.0, 100.0), alpha=(1.0, 10.0))
)
"""24 points. On MovieLens-100K, seeds 0-2 picked regularization 10 or 30 (16
factors, regularization 0.01 / 0.1 and alpha 40 scored lower on seed 0)."""


class ImplicitALS:
    """``implicit.cpu.als.AlternatingLeastSquares`` on the binary user x item matrix.

    Score = user factors @ item factors. A user without training interactions
    (cold) gets factors solved from its ``history`` against the fixed item factors
    (``recalculate_user``, one least-squares step: what ALS does at fold-in); a
    cold user with an empty history gets popularity. With ``fold_in`` every user
    is solved from its ``history`` that way, as a deployed ALS recomputes a
    shopper whose history grew after the fit: the evaluation's ``als`` baseline
    reads the validation pairs of the history so, as the neighbour methods do.
    Without it (the served ranking's generator, whose stored vectors are those of
    the fit) a user it was trained on keeps its fitted factors. With validation pairs,
    ``fit`` picks ``factors`` x ``regularization`` x ``alpha`` from ``grid`` by
    validation Recall@20 (:func:`~kgrec.gnn.baselines.tuning.tune`).

    Args:
        factors: latent dimension.
        regularization: L2 weight.
        alpha: confidence of an observed pair is ``alpha`` (1 = no extra weight
            over unobserved pairs; implicit's convention).
        iterations: ALS sweeps.
        seed: ``random_state`` of the factor initialisation.
        grid: hyper-parameter points tried when validation pairs are given
            (empty: no tuning).
        fold_in: solve every user from its history when scoring.
    """

    name = "als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.1,
        alpha: float = 1.0,
        iterations: int = 15,
        seed: int = 0,
        grid: Sequence[Mapping[str, object]] = ALS_GRID,
        fold_in: bool = False,
    ) -> None:
        self.fold_in = fold_in
        self.factors, self.regularization, self.alpha = factors, regularization, alpha
        self.iterations, self.seed, self.grid = iterations, seed, tuple(grid)
        self.model: AlternatingLeastSquares | None = None
        self.user = torch.zeros(0, factors)
        self.item = torch.zeros(0, factors)
        self.known = torch.zeros(0, dtype=torch.bool)
        self.pop = torch.zeros(0)
        self.chosen: Params = self._params()
        self.validation: list[tuple[Params, float]] = []

    def _params(self) -> Params:
        return {
            "factors": self.factors,
            "regularization": self.regularization,
            "alpha": self.alpha,
        }

    def _with(self, params: Params) -> ImplicitALS:
        merged = {**self._params(), **params}
        return ImplicitALS(
            factors=as_int(merged["factors"]),
            regularization=as_float(merged["regularization"]),
            alpha=as_float(merged["alpha"]),
            iterations=self.iterations,
            seed=self.seed,
            grid=(),
            fold_in=self.fold_in,
        )

    def fit(self, train: Tensor, num_users: int, num_items: int, val: Tensor | None = None) -> None:
        """Factorise the binary [U, P] matrix of ``train`` [2, E] (tuned on ``val`` [2, E_val])."""
        if val is not None and val.numel() and self.grid:
            tuned = tune(self._with, self.grid, train, num_users, num_items, val)
            best = tuned.best
            self.factors, self.regularization, self.alpha = (
                best.factors,
                best.regularization,
                best.alpha,
            )
            self.model, self.user, self.item = best.model, best.user, best.item
            self.known, self.pop = best.known, best.pop
            self.chosen, self.validation = self._params(), tuned.scores
            return
        with single_threaded_blas():
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                num_threads=torch.get_num_threads(),
                random_state=self.seed,
            )
            model.fit(user_item_csr(train, num_users, num_items), show_progress=False)
        self.model = model
        self.user = torch.from_numpy(np.ascontiguousarray(model.user_factors)).float()
        self.item = torch.from_numpy(np.ascontiguousarray(model.item_factors)).float()
        self.known = torch.zeros(num_users, dtype=torch.bool)
        self.known[train[0]] = True
        self.pop = item_popularity(train, num_items)
        self.chosen, self.validation = self._params(), []

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P] user factors @ item factors; users solved from ``history`` [2, E].

        Every user with ``fold_in``, else the users it was not trained on.
        """
        return self.scores_of(users, history, self.fold_in)

    def scores_of(self, users: Tensor, history: Tensor, fold_in: bool) -> Tensor:
        """:meth:`scores`, solving every user from ``history`` when ``fold_in``."""
        if self.model is None:
            raise RuntimeError("ImplicitALS.scores before fit")
        num_items = self.item.shape[0]
        in_range = users < len(self.known)
        known = torch.zeros(len(users), dtype=torch.bool)
        if not fold_in:
            known[in_range] = self.known[users[in_range]]
        vec = torch.zeros(len(users), self.item.shape[1])
        vec[known] = self.user[users[known]]
        cold = (~known).nonzero().flatten()
        empty = torch.zeros(len(users), dtype=torch.bool)
        if len(cold):
            rows = history_csr(history, users[cold], num_items)
            empty[cold] = torch.from_numpy(np.diff(rows.indptr) == 0)
            with single_threaded_blas():
                solved = self.model.recalculate_user(np.arange(len(cold)), rows)
            vec[cold] = torch.from_numpy(np.asarray(solved, dtype=np.float32)).reshape(
                len(cold), -1
            )
        out = vec @ self.item.T
        out[empty] = self.pop
        return out

    def stored(self) -> Recommender:
        """This fit, scoring the users it was trained on with their fitted factors."""
        return _StoredALS(self)


class _StoredALS:
    """An :class:`ImplicitALS` fit read without fold-in: what the served ranking stores.

    Shares the fit of ``als`` (fitted before it is scored); ``fit`` does nothing.
    """

    name = "als"

    def __init__(self, als: ImplicitALS) -> None:
        self.als = als

    def fit(self, train: Tensor, num_users: int, num_items: int, val: Tensor | None = None) -> None:
        """Nothing to fit: the scores read ``als``'s fit."""

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P] as ``als`` scores without fold-in."""
        return self.als.scores_of(users, history, fold_in=False)
