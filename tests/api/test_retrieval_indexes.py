"""The learned ranking's retrieval indexes: written at embed, read at start-up.

On the shop of tests/utils/shop.py, copied, with the threshold at 0 so its few
products count as a large catalogue, and an IVF index of one list (an exact
search): the answers are those of the dense scans.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from kgrec.api.personal import PersonalRanking
from kgrec.api.retrieval_indexes import SUFFIX, write_retrieval_indexes
from kgrec.api.wiring import index_options
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.gnn.ranking.served import RANKING_DIR
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder
from tests.utils.shop import Shop, shop_engine

pytestmark = pytest.mark.slow


@pytest.fixture
def large(shop_settings: Settings) -> Settings:
    """The shop's settings with every catalogue past the exact-index threshold."""
    return shop_settings.updated(serving={"exact_index_max_items": 0, "ann_index": "ivf"})


@pytest.fixture
def version(shop: tuple[Shop, ArtifactSet], tmp_path: Path) -> Path:
    """A copy of the shop's artifact version (the shared one stays as it is)."""
    assert shop[1].path is not None
    return Path(shutil.copytree(shop[1].path, tmp_path / shop[1].path.name))


def _vectors(artifacts: ArtifactSet) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The user graph, product graph and product text vectors a ranking binds over."""
    arrays = (artifacts.user_graph, artifacts.product_graph, artifacts.product_text)
    return tuple(torch.from_numpy(np.array(a, dtype=np.float32)) for a in arrays)  # type: ignore[return-value]


def _answers(ranking: PersonalRanking, artifacts: ArtifactSet) -> list[list[int]]:
    staged = ranking.bind(*_vectors(artifacts))
    return [
        ranking.served(staged, row, ranking.history(row), shopper_id=None)[0][:20].tolist()
        for row in range(ranking.num_users)
    ]


def test_embed_writes_the_wide_indexes_and_the_stages_read_them_as_the_dense_scans(
    large: Settings, version: Path, caplog: pytest.LogCaptureFixture
) -> None:
    options = index_options(large)
    written = write_retrieval_indexes(version, options)
    # the GNN's graph space (hidden + text: 418-d) and the text vectors; ALS's 32-d scan
    assert written == [version / RANKING_DIR / f"{g}{SUFFIX}" for g in ("gnn", "text_knn")]
    artifacts = ArtifactSet.load(version)
    dense = PersonalRanking.load(version, 0.1, fresh_temperature=0.5)
    indexed = PersonalRanking.load(version, 0.1, fresh_temperature=0.5, index=options)
    assert dense is not None and indexed is not None
    with caplog.at_level(logging.WARNING):
        staged = indexed.bind(*_vectors(artifacts))
    assert list(staged.retrieval) == ["gnn", "text_knn"]
    assert not [r for r in caplog.records if "missing" in r.message]
    assert _answers(indexed, artifacts) == _answers(dense, artifacts)
    # below the threshold nothing is written and nothing read through an index
    assert write_retrieval_indexes(version, index_options(Settings(data_dir=version))) == []


def test_a_missing_index_is_built_with_a_warning_and_the_service_answers_the_same(
    large: Settings,
    shop_settings: Settings,
    version: Path,
    encoder: TextEncoder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    artifacts = ArtifactSet.load(version)
    with caplog.at_level(logging.WARNING):
        indexed = shop_engine(large, artifacts, encoder, None)
    assert [r for r in caplog.records if f"text_knn{SUFFIX} is missing" in r.message]
    dense = shop_engine(shop_settings, artifacts, encoder, None)
    assert indexed.index_info()["ranking_indexes"] == {"gnn": "ivf", "text_knn": "ivf"}
    assert dense.index_info()["ranking_indexes"] == {}
    for user in artifacts.users["id"].astype(str).tolist()[:12]:
        got, expected = indexed.recommend(user, k=10), dense.recommend(user, k=10)
        assert got.ranking == expected.ranking == "learned"
        assert [i.id for i in got.items] == [i.id for i in expected.items]
