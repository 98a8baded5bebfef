"""The learned ranker: LightGBM's LambdaRank over the candidate features.

LightGBM was chosen over a small torch model by measurement (docs/ranking.md): on
a few hundred thousand (user, candidate) rows it trains in seconds on 2 cores,
handles missing features (a factor model without a vector for the user) natively,
and needs no feature scaling. The model is saved with its feature list and its
hyper-parameters; loading it under another feature list is an error naming both.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import lightgbm as lgb
import numpy as np

from kgrec.errors import ModelError
from kgrec.gnn.ranking.compiled import CompiledForest

COMPILED_DIR: Final = "compiled"
"""Beside a saved ranker: its boosters' machine code (:class:`CompiledForest`'s cache)."""


@dataclass(frozen=True)
class RankerConfig:
    """Hyper-parameters of the LambdaRank model (saved with it).

    Attributes:
        num_leaves, learning_rate, min_data_in_leaf, feature_fraction: LightGBM's.
        rounds: boosting rounds at most; early stopping on ``valid_fraction`` of
            the training users' groups picks the best.
        early_stopping: rounds without improvement of NDCG@20 before stopping.
        valid_fraction: share of query groups held out for early stopping.
        seed: LightGBM's seed (with deterministic training).
        models: boosters trained with seeds ``seed``, ``seed + 1``, ... (each its own
            early-stopping groups); the score is their mean.
    """

    num_leaves: int = 31
    learning_rate: float = 0.05
    min_data_in_leaf: int = 50
    feature_fraction: float = 0.9
    rounds: int = 400
    early_stopping: int = 40
    valid_fraction: float = 0.2
    seed: int = 0
    models: int = 3


class LearnedRanker:
    """Trained LambdaRank boosters (their mean is the score) and their feature list.

    Scores come from the boosters compiled to machine code (:class:`CompiledForest`,
    built on first use, or by :meth:`compile`), the same scores as LightGBM's
    ``predict`` up to float rounding, in evaluation and serving alike.

    Args:
        features: the feature names, in column order.
        boosters: the trained LightGBM boosters (``config.models`` of them).
        config: their hyper-parameters.
        cache_dir: where the compiled boosters are cached (None: compiled in memory).
    """

    def __init__(
        self,
        features: tuple[str, ...],
        boosters: list[lgb.Booster],
        config: RankerConfig,
        cache_dir: Path | None = None,
    ) -> None:
        self.features = features
        self.boosters = boosters
        self.config = config
        self.cache_dir = cache_dir
        self._forests: list[CompiledForest] | None = None
        self._lock = threading.Lock()

    @classmethod
    def fit(
        cls,
        x: np.ndarray,
        y: np.ndarray,
        groups: np.ndarray,
        features: tuple[str, ...],
        config: RankerConfig,
        threads: int = 1,
    ) -> LearnedRanker:
        """Train on rows ``x`` [N, F] with labels ``y`` [N], in query groups of sizes ``groups``.

        Rows of one group (one user in one situation) are consecutive.
        """
        if x.shape[1] != len(features):
            raise ModelError(f"{x.shape[1]} feature columns but {len(features)} feature names")
        boosters = [
            _train_one(x, y, groups, features, config, config.seed + i, threads)
            for i in range(max(config.models, 1))
        ]
        return cls(features, boosters, config)

    def compile(self) -> list[CompiledForest]:
        """The boosters as machine code: compiled (or read from ``cache_dir``) once."""
        with self._lock:
            if self._forests is None:
                self._forests = [CompiledForest.compile(b, self.cache_dir) for b in self.boosters]
            return self._forests

    def score(self, x: np.ndarray) -> np.ndarray:
        """[N] scores of rows ``x`` [N, F] (higher is better); one batched call per booster."""
        out = [forest.predict(x) for forest in self.compile()]
        return np.asarray(np.mean(out, axis=0), dtype=np.float64)

    def importance(self) -> dict[str, float]:
        """Total gain per feature over the boosters, for the report."""
        gains = np.sum([b.feature_importance(importance_type="gain") for b in self.boosters], 0)
        return {f: float(g) for f, g in zip(self.features, gains, strict=True)}

    def save(self, path: Path) -> Path:
        """Write the boosters (``path``, then ``path``'s stem + ``.1.txt``, ...) and a JSON sidecar.

        The sidecar holds the features and the config. The boosters' machine code is
        compiled and cached in ``compiled/`` beside them (:class:`CompiledForest`).
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        for i, booster in enumerate(self.boosters):
            booster.save_model(str(_booster_path(path, i)))
        meta = {"features": list(self.features), "config": asdict(self.config)}
        path.with_suffix(".json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        # compiled from the files as a service reads them (the cache key is their text),
        # cached beside them: a service starts without compiling
        LearnedRanker.load(path, self.features)
        return path

    @classmethod
    def load(cls, path: Path, expected: tuple[str, ...]) -> LearnedRanker:
        """Read a saved ranker; its features must be ``expected``.

        Its boosters are compiled here (or their code read from ``compiled/`` beside
        them), so a service pays that at start-up, not on its first request.

        Raises:
            ModelError: a file is missing, or it was trained on other features (both
                lists named).
        """
        meta_path = path.with_suffix(".json")
        if not path.is_file() or not meta_path.is_file():
            raise ModelError(f"no ranker at {path} (and {meta_path}); run `kgrec embed` again")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        features = tuple(meta["features"])
        if features != expected:
            raise ModelError(
                f"the ranker at {path} was trained on features {list(features)} but this "
                f"kgrec computes {list(expected)}; retrain it (`kgrec embed`)"
            )
        # a ranker saved before the ensemble has no "models": one booster
        config = RankerConfig(**{"models": 1, **meta["config"]})
        paths = [_booster_path(path, i) for i in range(max(config.models, 1))]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise ModelError(f"ranker files {missing} are missing; run `kgrec embed` again")
        boosters = [lgb.Booster(model_file=str(p)) for p in paths]
        ranker = cls(features, boosters, config, path.parent / COMPILED_DIR)
        ranker.compile()  # at load, not on a service's first request
        return ranker


def _booster_path(path: Path, index: int) -> Path:
    """Booster ``index``'s file: ``path`` itself for the first, ``<stem>.<index>.txt`` after."""
    return path if index == 0 else path.with_name(f"{path.stem}.{index}{path.suffix}")


def _train_one(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    features: tuple[str, ...],
    config: RankerConfig,
    seed: int,
    threads: int,
) -> lgb.Booster:
    """One LambdaRank booster, early-stopped on a ``seed``-drawn share of the groups."""
    rng = np.random.default_rng(seed)
    n_valid = round(len(groups) * config.valid_fraction)
    is_valid = np.zeros(len(groups), dtype=bool)
    is_valid[rng.permutation(len(groups))[:n_valid]] = True
    row_valid = np.repeat(is_valid, groups)
    params: dict[str, Any] = {
        "objective": "lambdarank",
        "metric": "ndcg",
        "eval_at": [20],
        "num_leaves": config.num_leaves,
        "learning_rate": config.learning_rate,
        "min_data_in_leaf": config.min_data_in_leaf,
        "feature_fraction": config.feature_fraction,
        "seed": seed,
        "deterministic": True,
        "num_threads": threads,
        "verbosity": -1,
    }
    train = lgb.Dataset(
        x[~row_valid], y[~row_valid], group=groups[~is_valid], feature_name=list(features)
    )
    valid_sets: list[lgb.Dataset] = []
    callbacks: list[Callable[..., Any]] = []
    if n_valid:
        valid_sets = [lgb.Dataset(x[row_valid], y[row_valid], group=groups[is_valid])]
        callbacks = [lgb.early_stopping(config.early_stopping, verbose=False)]
    return lgb.train(params, train, config.rounds, valid_sets=valid_sets, callbacks=callbacks)
