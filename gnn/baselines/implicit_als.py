"""ALS for implicit feedback, from the ``implicit`` library (Hu, Koren & Volinsky 2008)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from implicit.cpu.als import AlternatingLeastSquares
from torch import Tensor

from kgrec.gnn.baselines.base import item_popularity, row_scores
from kgrec.gnn.baselines.sparse import history_csr, single_threaded_blas, user_item_csr
from kgrec.gnn.baselines.tuning import Params, as_float, as_int, grid_of, tune

ALS_GRID: tuple[Params, ...] = tuple(
    grid_of(factors=(32, 64, 128), regularization=(1.0, 10.0, 30.0, 100.0), alpha=(1.0, 10.0))
)
"""24 points. On MovieLens-100K, seeds 0-2 picked regularization 10 or 30 (16
factors, regularization 0.01 / 0.1 and alpha 40 scored lower on seed 0)."""
SOLVE_THREADS = 1
"""implicit's threads when solving users from their histories. One shopper per
request: its OpenMP fork and join on 2 threads cost 1.8 ms a solve against 0.035
ms on one (64 factors, 100 products, the machine busy); one thread also leaves
NumPy's BLAS nothing to compete with, so no thread limit is set per call (that
cost 2 ms more)."""


class ImplicitALS:
    """``implicit.cpu.als.AlternatingLeastSquares`` on the binary user x item matrix.

    Score = user factors @ item factors, the user's factors solved from its
    ``history`` against the fixed item factors (``recalculate_user``, one
    least-squares step: what a deployed ALS does when a shopper's history grew
    after the fit, or a new shopper turns up). Every user is solved so, those it
    was trained on too: the evaluation's ``als`` baseline and the served
    ranking's ``als`` generator read the same history through the same solve
    (the service builds this class from the stored item factors,
    :meth:`from_items`). A user with an empty history gets popularity. With
    validation pairs, ``fit`` picks ``factors`` x ``regularization`` x ``alpha``
    from ``grid`` by validation Recall@20 (:func:`~kgrec.gnn.baselines.tuning.tune`).

    Args:
        factors: latent dimension.
        regularization: L2 weight.
        alpha: confidence of an observed pair is ``alpha`` (1 = no extra weight
            over unobserved pairs; implicit's convention).
        iterations: ALS sweeps.
        seed: ``random_state`` of the factor initialisation.
        grid: hyper-parameter points tried when validation pairs are given
            (empty: no tuning).
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
    ) -> None:
        self.factors, self.regularization, self.alpha = factors, regularization, alpha
        self.iterations, self.seed, self.grid = iterations, seed, tuple(grid)
        self.model: AlternatingLeastSquares | None = None
        self.item = torch.zeros(0, factors)
        self.pop = torch.zeros(0)
        self.chosen: Params = self._params()
        self.validation: list[tuple[Params, float]] = []

    @classmethod
    def from_items(
        cls, items: Tensor, regularization: float, alpha: float, pop: Tensor, gram: np.ndarray
    ) -> ImplicitALS:
        """The fit whose item factors are ``items`` [P', F] (what ``kgrec embed`` stored).

        ``pop`` [P'] scores an empty history. Rows without factors (products added
        online: zeros) score 0 and weigh nothing in a history. ``gram`` is
        :func:`item_gram` of the stored rows: the zero rows leave it as it is, and
        computing it again over P' rows would cost a pass over the catalogue on
        every bind and change every shopper's solve in the last bits.
        """
        als = cls(items.shape[1], regularization, alpha, grid=())
        with warnings.catch_warnings():  # its BLAS advice is for fitting: solves use one thread
            warnings.filterwarnings("ignore", "OpenBLAS is configured", RuntimeWarning)
            als.model = AlternatingLeastSquares(
                factors=items.shape[1], regularization=regularization, alpha=alpha
            )
        als.model.num_threads = SOLVE_THREADS
        als.model.item_factors = np.ascontiguousarray(items.float().numpy())
        als.model._YtY = gram  # implicit's cache of Y^T Y (read by recalculate_user)
        als.item, als.pop = items.float(), pop.float()
        return als

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
            self.model, self.item, self.pop = best.model, best.item, best.pop
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
        model.num_threads = SOLVE_THREADS
        self.model = model
        self.item = torch.from_numpy(np.ascontiguousarray(model.item_factors)).float()
        self.pop = item_popularity(train, num_items)
        self.chosen, self.validation = self._params(), []

    @property
    def item_vectors(self) -> Tensor:
        """float32 [P, F]: the item factors the scores are inner products with."""
        return self.item

    def linear_queries(self, users: Tensor, history: Tensor) -> tuple[Tensor, Tensor]:
        """(factors [B, F] solved from ``history`` [2, E], scored [B] bool).

        A user with an empty history gets zeros and False (it scores popularity).
        """
        if self.model is None:
            raise RuntimeError("ImplicitALS.scores before fit")
        if len(users) == 0:
            return torch.zeros(0, self.item.shape[1]), torch.zeros(0, dtype=torch.bool)
        rows = history_csr(history, users, self.item.shape[0])
        solved = self.model.recalculate_user(np.arange(len(users)), rows)
        vec = torch.from_numpy(np.asarray(solved, dtype=np.float32)).reshape(len(users), -1)
        return vec, torch.from_numpy(np.diff(rows.indptr) > 0)

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P] factors solved from ``history`` [2, E] @ item factors (popularity if empty)."""
        vec, scored = self.linear_queries(users, history)
        out = row_scores(self.item, vec)
        out[~scored] = self.pop
        return out


def item_gram(items: Tensor) -> np.ndarray:
    """Float32 [F, F] ``items``ᵀ ``items`` of item factors [P, F], as implicit computes it."""
    y = np.ascontiguousarray(items.float().numpy())
    return np.asarray(y.T.dot(y))
