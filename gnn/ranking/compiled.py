"""A LightGBM booster compiled to machine code (lleaves): the same scores, about 5x faster.

LightGBM's ``Booster.predict`` walks the trees through its generic interpreter:
the served ranker's three boosters (about 250 trees) took 4.4 ms for 800
candidates of one request, a tenth of a 100k-product answer. `lleaves
<https://github.com/siboehm/lleaves>`_ compiles the same model file with LLVM into
a function that walks them in 0.9 ms, with the same scores up to float rounding
(tests/gnn/test_compiled.py compares them, NaN features included).

Compiling takes one to four seconds per booster, so the object code is cached
under a directory: keyed by the model's text, the host CPU (its name and
features, since the code is built for it), the lleaves and llvmlite versions and
the compile options, so a cache file built on another machine or by another
compiler is never loaded. Each file is published whole with a checksum beside
it, and loaded only when the two agree: LLVM aborts the process on a damaged
object file, which no ``except`` catches.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
import uuid
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
COMPILE_OPTIONS: Final = "fp64 fblocksize=34 fcodemodel=large finline"
"""lleaves' compile options used here (its defaults), part of the cache key."""
_PROBE_ROWS: Final = 64
_PROBE_TOLERANCE: Final = 1e-6


def host_key() -> str:
    """What compiled code depends on besides the model: CPU, compiler and options."""
    try:
        features = llvm.get_host_cpu_features().flatten()
    except RuntimeError:  # LLVM cannot tell on some hosts: the name alone
        features = "?"
    parts = (
        llvm.get_host_cpu_name(),
        features,
        metadata.version("lleaves"),
        metadata.version("llvmlite"),
        COMPILE_OPTIONS,
    )
    return "|".join(str(p) for p in parts)


class CompiledForest:
    """One booster as native code, scoring like ``Booster.predict`` (raw LambdaRank scores).

    Built by :meth:`compile`, which falls back to LightGBM's own ``predict`` (the
    same scores, slower) when the booster cannot be compiled here.

    Args:
        booster: the LightGBM booster.
        model: its compiled lleaves model (None: LightGBM scores it).
    """

    def __init__(self, booster: lgb.Booster, model: lleaves.Model | None) -> None:
        self._booster = booster
        self._model = model

    @property
    def compiled(self) -> bool:
        """Whether scores come from machine code (False: LightGBM's ``predict``)."""
        return self._model is not None

    @classmethod
    def compile(cls, booster: lgb.Booster, cache_dir: Path | None = None) -> CompiledForest:
        """Compile ``booster`` (its best iteration), or load its code from ``cache_dir``.

        A cache file is published whole (written beside its name, then renamed) with
        a checksum written after it; one without a matching checksum (cut short by a
        crash, or being written by another process) is compiled again, since LLVM
        aborts the process on a damaged object file. A cache directory that cannot
        be written is passed over (compiled in memory, with a warning). When
        lleaves cannot compile the booster, or its code scores a probe otherwise
        than LightGBM, the forest scores through LightGBM (with a warning).
        """
        text = booster.model_to_string(num_iteration=booster.best_iteration or None)
        start = time.perf_counter()
        try:
            digest = hashlib.sha256(f"{host_key()}\n{text}".encode()).hexdigest()[:24]
            model, cached = _compiled(text, _cache_path(cache_dir, digest))
        except Exception as e:  # lleaves / LLVM failures have no common type
            log.warning(
                "the ranker booster could not be compiled (%s: %s): scoring it with "
                "LightGBM instead (same scores, about 5x slower)",
                type(e).__name__,
                e,
            )
            return cls(booster, None)
        forest = cls(booster, model)
        probe = np.random.default_rng(0).normal(size=(_PROBE_ROWS, booster.num_feature()))
        probe[::3, ::2] = np.nan
        expected = booster.predict(probe, num_iteration=booster.best_iteration or None)
        if not np.allclose(forest.predict(probe), expected, rtol=0, atol=_PROBE_TOLERANCE):
            log.warning(
                "the compiled ranker booster scores a probe otherwise than LightGBM: "
                "scoring it with LightGBM instead"
            )
            return cls(booster, None)
        if not cached:
            log.info(
                "compiled a ranker booster of %d trees in %.1f s",
                model.num_trees(),
                time.perf_counter() - start,
            )
        return forest

    def predict(self, x: np.ndarray) -> np.ndarray:
        """float64 [N] scores of rows ``x`` [N, F] (NaN = missing, as in LightGBM)."""
        if self._model is None:
            booster = self._booster
            return np.asarray(
                booster.predict(x, num_iteration=booster.best_iteration or None), np.float64
            )
        jobs = 1 if len(x) < PARALLEL_ROWS else os.cpu_count() or 1
        return np.asarray(self._model.predict(x, n_jobs=jobs), dtype=np.float64)


def _cache_path(cache_dir: Path | None, digest: str) -> Path | None:
    """``cache_dir/forest-<digest>.o``, or None when the directory cannot be written."""
    if cache_dir is None:
        return None
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        if not os.access(cache_dir, os.W_OK):
            raise PermissionError(f"{cache_dir} is not writable")
    except OSError as e:
        log.warning("compiled ranker not cached (%s): compiling in memory", e)
        return None
    return cache_dir / f"forest-{digest}.o"


def _checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _compiled(text: str, cache: Path | None) -> tuple[lleaves.Model, bool]:
    """The lleaves model of ``text`` and whether its code came from ``cache``."""
    with tempfile.TemporaryDirectory(prefix="kgrec-forest-") as tmp:
        model_file = Path(tmp) / "model.txt"
        model_file.write_text(text, encoding="utf-8")
        model = lleaves.Model(model_file=str(model_file))
        if cache is None:
            model.compile()
            return model, False
        sidecar = cache.with_suffix(".sha256")
        if (
            cache.is_file()
            and sidecar.is_file()
            and sidecar.read_text(encoding="ascii").strip() == _checksum(cache)
        ):
            model.compile(cache=str(cache))
            return model, True
        partial = cache.with_name(f".{cache.name}.{os.getpid()}.{uuid.uuid4().hex}")
        partial_sum = partial.with_name(f"{partial.name}.sha256")
        try:
            model.compile(cache=str(partial))  # lleaves writes the code there
            partial_sum.write_text(_checksum(partial), encoding="ascii")
            partial.replace(cache)  # whole, then its checksum: never a half-written file
            partial_sum.replace(sidecar)
        except OSError as e:
            log.warning("compiled ranker not cached at %s (%s)", cache, e)
            if not model.is_compiled:
                model.compile()
        finally:
            partial.unlink(missing_ok=True)
            partial_sum.unlink(missing_ok=True)
        return model, False
