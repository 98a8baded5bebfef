"""A LightGBM booster compiled to machine code (lleaves): the same scores, about 5x faster.

LightGBM's ``Booster.predict`` walks the trees through its generic interpreter:
the served ranker's three boosters (about 250 trees) took 4.4 ms for 800
candidates of one request, a tenth of a 100k-product answer. `lleaves
<https://github.com/siboehm/lleaves>`_ compiles the same model file with LLVM into
a function that walks them in 0.9 ms, with the same scores up to float rounding
(tests/gnn/test_compiled.py compares them, NaN features included).

Compiling takes one to four seconds per booster, so the object code is cached
under a directory: keyed by the model's text, the host CPU (its name and
features, since the code is built for it) and the lleaves and llvmlite versions,
so a cache file built on another machine or by another compiler is never loaded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Final

import lightgbm as lgb
import lleaves
import llvmlite.binding as llvm
import numpy as np

log = logging.getLogger(__name__)

PARALLEL_ROWS: Final = 20_000
"""Rows from which a prediction is split over every core (one request's few
hundred candidates run in the calling thread: a thread pool per call costs more
than it saves)."""


def host_key() -> str:
    """What compiled code depends on besides the model: CPU and compiler versions."""
    parts = (
        llvm.get_host_cpu_name(),
        llvm.get_host_cpu_features().flatten(),
        metadata.version("lleaves"),
        metadata.version("llvmlite"),
    )
    return "|".join(str(p) for p in parts)


class CompiledForest:
    """One booster as native code, scoring like ``Booster.predict`` (raw LambdaRank scores).

    Args:
        model: the compiled lleaves model.
        trees: how many trees it walks.
    """

    def __init__(self, model: lleaves.Model, trees: int) -> None:
        self._model = model
        self.trees = trees

    @classmethod
    def compile(cls, booster: lgb.Booster, cache_dir: Path | None = None) -> CompiledForest:
        """Compile ``booster`` (its best iteration), or load its code from ``cache_dir``.

        A cache directory that cannot be written is passed over (the code is built
        in memory, with a warning).
        """
        text = booster.model_to_string(num_iteration=booster.best_iteration or None)
        digest = hashlib.sha256(f"{host_key()}\n{text}".encode()).hexdigest()[:24]
        cache: Path | None = None
        if cache_dir is not None:
            try:
                cache_dir.mkdir(parents=True, exist_ok=True)
                cache = cache_dir / f"forest-{digest}.o"
                if not cache.exists() and not os.access(cache_dir, os.W_OK):
                    raise PermissionError(f"{cache_dir} is not writable")
            except OSError as e:
                log.warning("compiled ranker not cached (%s): compiling in memory", e)
                cache = None
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="kgrec-forest-") as tmp:
            model_file = Path(tmp) / "model.txt"
            model_file.write_text(text, encoding="utf-8")
            model = lleaves.Model(model_file=str(model_file))
            cached = cache is not None and cache.exists()
            model.compile(cache=str(cache) if cache is not None else None)
        if not cached:
            log.info(
                "compiled a ranker booster of %d trees in %.1f s%s",
                model.num_trees(),
                time.perf_counter() - start,
                f" (cached at {cache})" if cache is not None else "",
            )
        return cls(model, int(model.num_trees()))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """float64 [N] scores of rows ``x`` [N, F] (NaN = missing, as in LightGBM)."""
        jobs = 1 if len(x) < PARALLEL_ROWS else os.cpu_count() or 1
        return np.asarray(self._model.predict(x, n_jobs=jobs), dtype=np.float64)
