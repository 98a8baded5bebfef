"""The compiled ranker: LightGBM's scores, NaN features included, and its code cache."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import lleaves
import numpy as np
import pytest

from kgrec.gnn.ranking.compiled import CompiledForest
from kgrec.gnn.ranking.fitting import copy_trained
from kgrec.gnn.ranking.ranker import COMPILED_DIR, LearnedRanker, RankerConfig


def _data(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 6))
    x[rng.random(x.shape) < 0.15] = np.nan  # missing features, as for cold shoppers
    y = (np.nan_to_num(x[:, 0]) + 0.5 * np.nan_to_num(x[:, 3]) > 0.8).astype(np.int32)
    return x, y, np.full(rows // 40, 40)


def _ranker(models: int = 2) -> LearnedRanker:
    x, y, groups = _data(4000, 0)
    config = RankerConfig(rounds=60, early_stopping=10, min_data_in_leaf=10, models=models)
    return LearnedRanker.fit(x, y, groups, tuple(f"f{i}" for i in range(6)), config)


def test_compiled_scores_are_lightgbms() -> None:
    ranker = _ranker()
    x, _, _ = _data(30_000, 1)  # above PARALLEL_ROWS: split over the cores too
    expected = np.mean(
        [b.predict(x, num_iteration=b.best_iteration or None) for b in ranker.boosters], axis=0
    )
    np.testing.assert_allclose(ranker.score(x), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ranker.score(x[:300]), expected[:300], rtol=0, atol=1e-9)
    assert np.isnan(x[:300]).any()


def _no_compiler(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every lleaves compilation fail (its code can then only come from a cache)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("compiler disabled by the test")

    monkeypatch.setattr(lleaves.lleaves.compiler, "compile_to_module", refuse)


def test_a_saved_ranker_loads_its_cached_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ranker = _ranker()
    path = ranker.save(tmp_path / "ranker.txt")
    cached = sorted((tmp_path / COMPILED_DIR).glob("forest-*.o"))
    assert len(cached) == 2  # one per booster, written by save, each with its checksum
    assert len(list((tmp_path / COMPILED_DIR).glob("forest-*.sha256"))) == 2
    _no_compiler(monkeypatch)
    loaded = LearnedRanker.load(path, ranker.features)
    assert all(forest.compiled for forest in loaded.compile())  # read from the cache
    x, _, _ = _data(500, 2)
    np.testing.assert_allclose(loaded.score(x), ranker.score(x), rtol=0, atol=1e-9)


def test_a_damaged_cache_file_is_compiled_again(tmp_path: Path) -> None:
    """A file cut short (a crash while it was written) would abort LLVM: never loaded."""
    ranker = _ranker(models=1)
    path = ranker.save(tmp_path / "ranker.txt")
    (code,) = (tmp_path / COMPILED_DIR).glob("forest-*.o")
    whole = code.read_bytes()
    code.write_bytes(whole[: len(whole) // 2])
    loaded = LearnedRanker.load(path, ranker.features)
    assert all(forest.compiled for forest in loaded.compile())
    assert code.read_bytes() == whole  # published again, whole
    x, _, _ = _data(300, 4)
    np.testing.assert_allclose(loaded.score(x), ranker.score(x), rtol=0, atol=1e-9)


def test_a_booster_lleaves_cannot_compile_is_scored_by_lightgbm(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    booster = _ranker(models=1).boosters[0]
    _no_compiler(monkeypatch)
    forest = CompiledForest.compile(booster)
    assert not forest.compiled
    x, _, _ = _data(200, 5)
    np.testing.assert_allclose(forest.predict(x), booster.predict(x), rtol=0, atol=1e-12)
    assert "scoring it with LightGBM instead" in caplog.text


def test_a_cache_that_cannot_be_made_compiles_in_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    booster = _ranker(models=1).boosters[0]
    blocker = tmp_path / "version"
    blocker.write_text("a file where the cache directory would go")
    forest = CompiledForest.compile(booster, blocker / COMPILED_DIR)
    x, _, _ = _data(200, 3)
    np.testing.assert_allclose(forest.predict(x), booster.predict(x), rtol=0, atol=1e-9)
    assert "not cached" in caplog.text


def test_a_booster_compiles_from_its_best_iteration() -> None:
    x, y, groups = _data(4000, 0)
    train = lgb.Dataset(x, y, group=groups)
    booster = lgb.train({"objective": "lambdarank", "verbosity": -1}, train, 20)
    booster.best_iteration = 5
    forest = CompiledForest.compile(booster)
    assert forest.compiled
    np.testing.assert_allclose(
        forest.predict(x[:100]), booster.predict(x[:100], num_iteration=5), rtol=0, atol=1e-9
    )


def test_a_copied_ranking_takes_its_compiled_code_along(tmp_path: Path) -> None:
    ranker = _ranker()
    trained = tmp_path / "trained"
    path = ranker.save(trained / "ranker.txt")
    for name in ("generators.json", "stages.json"):  # the rest of a trained ranking
        (trained / name).write_text("{}")
    copy_trained(trained, tmp_path / "version")
    assert sorted(p.name for p in (tmp_path / "version" / COMPILED_DIR).iterdir()) == sorted(
        p.name for p in (path.parent / COMPILED_DIR).iterdir()
    )
