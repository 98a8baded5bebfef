"""The ranking core without HTTP: fusion formula, indexes, filters, atomic swap, online items."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from kgrec.api.engine import Engine
from kgrec.api.ranking import Filters, Weights, fuse, weight_matrix
from kgrec.api.synthetic import synthetic_artifacts
from kgrec.api.wiring import engine_options, index_options
from kgrec.errors import ArtifactError, ConfigError
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.graph import GraphStore
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder
from tests.utils.api import threads_of_a_new_thread
from tests.utils.settings import make_settings


@pytest.fixture(scope="module")
def synthetic(encoder: TextEncoder) -> ArtifactSet:
    return synthetic_artifacts(3000, 200, text_dim=encoder.dim, seed=3)


def test_fused_scores_follow_the_formula(
    settings: Settings, synthetic: ArtifactSet, encoder: TextEncoder
) -> None:
    engine = Engine(engine_options(settings), synthetic, encoder)
    answer = engine.recommend("u7", k=10, query="waterproof jacket")
    assert answer.strategy == "user" and len(answer.items) == 10
    h_u = synthetic.user_graph[7]
    e_q = encoder.encode(["waterproof jacket"])[0]
    rows = {pid: r for r, pid in enumerate(synthetic.products["id"])}
    totals = []
    for item in answer.items:
        r = rows[item.id]
        graph = settings.serving.w_graph * float(h_u @ synthetic.product_graph[r])
        text = settings.serving.w_text * float(e_q @ synthetic.product_text[r])
        pop = settings.serving.w_pop * float(synthetic.popularity[r])
        assert item.score.graph == pytest.approx(graph, abs=1e-4)
        assert item.score.text == pytest.approx(text, abs=1e-4)
        assert item.score.popularity == pytest.approx(pop, abs=1e-5)
        totals.append(item.score.total)
    assert totals == sorted(totals, reverse=True)


def test_building_an_engine_leaves_the_process_thread_count_alone(
    settings: Settings, synthetic: ArtifactSet, encoder: TextEncoder
) -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        Engine(
            engine_options(settings.updated(device="cpu", serving={"search_threads": 1})),
            synthetic,
            encoder,
        )
        assert torch.get_num_threads() == 2  # the app's start-up sets it, not the engine
        assert threads_of_a_new_thread() == 2
    finally:
        torch.set_num_threads(before)


def test_block_fusion_equals_the_dense_matmul() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand((500, 8 + 16 + 1), generator=gen)
    w = weight_matrix(
        torch.rand(8, generator=gen),
        torch.rand(16, generator=gen),
        Weights(0.7, 1.3, 0.2),
        8,
        16,
        "cpu",
    )
    torch.testing.assert_close(fuse(x, w, 8), x @ w)


@pytest.mark.parametrize("kind", ["ivf", "ivf_sq8", "hnsw"])
def test_ann_indexes_agree_with_exact_search(settings: Settings, kind: str) -> None:
    art = synthetic_artifacts(20_000, 100, graph_dim=32, text_dim=8, seed=5)
    options = index_options(settings)
    exact = options.build(art.product_graph, kind="exact").search(art.user_graph, 10)[1]
    index = options.build(art.product_graph, kind=kind)  # type: ignore[arg-type]
    assert index.kind == kind
    got = index.search(art.user_graph, 10)[1]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, exact, strict=True)])
    assert recall >= 0.9


def test_index_kind_is_checked(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="'exact', 'hnsw', 'ivf', 'ivf_sq8'"):
        index_options(settings).build(np.zeros((3, 4), np.float32), kind="lsh")  # type: ignore[arg-type]


def test_category_filter_includes_descendants_and_price_holds(
    settings: Settings, synthetic: ArtifactSet, encoder: TextEncoder
) -> None:
    engine = Engine(engine_options(settings), synthetic, encoder)
    # root r3 has the categories c3, c11, c19, ... (c % 8 == 3) below it
    answer = engine.recommend(
        "u1", k=20, filters=Filters(categories=("r3",), max_price=200.0, in_stock_only=True)
    )
    assert len(answer.items) == 20
    for item in answer.items:
        assert int(item.category_ids[0][1:]) % 8 == 3
        assert item.price is not None and item.price <= 200.0 and item.in_stock


def test_k_is_bounded(settings: Settings, synthetic: ArtifactSet, encoder: TextEncoder) -> None:
    engine = Engine(engine_options(settings), synthetic, encoder)
    with pytest.raises(ConfigError, match="between 1 and 100"):
        engine.recommend(None, k=101)


def test_encoder_width_must_match_the_artifacts(settings: Settings, encoder: TextEncoder) -> None:
    wrong = synthetic_artifacts(100, 10, text_dim=encoder.dim + 1)
    with pytest.raises(ArtifactError, match="text_dim"):
        Engine(engine_options(settings), wrong, encoder)


def test_swap_is_atomic_for_requests_in_flight(
    data_dir: Path, synthetic: ArtifactSet, encoder: TextEncoder
) -> None:
    settings = make_settings(data_dir, serving={"exact_index_max_items": 100_000})
    v2 = synthetic_artifacts(3000, 200, text_dim=encoder.dim, seed=4, version="v2")
    v2.products["id"] = "q" + v2.products["id"].str[1:]
    engine = Engine(engine_options(settings), synthetic, encoder)
    seen: list[tuple[str, set[str]]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                answer = engine.recommend("u3", k=10, query="shoes")
                seen.append((answer.artifact_version, {i.id[0] for i in answer.items}))
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for version in (v2, synthetic, v2):
        engine.swap(version)
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert engine.version == "v2"
    prefix = {"synthetic": {"p"}, "v2": {"q"}}
    assert {v for v, _ in seen} <= {"synthetic", "v2"} and seen
    assert all(ids == prefix[v] for v, ids in seen)  # never a mix of two versions


def test_online_item_replaces_its_catalogue_row(
    sample_store: GraphStore,
    settings: Settings,
    sample_artifacts: ArtifactSet,
    encoder: TextEncoder,
) -> None:
    engine = Engine(engine_options(settings), sample_artifacts, encoder, sample_store)
    engine.add_items(
        [
            {
                "id": "p013",
                "title": "Boom portable speaker mk2",
                "price": 10.0,
                "brand_id": "sonora",
                "category_ids": ["speakers"],
            }
        ]
    )
    answer = engine.search("portable speaker", k=17)
    hits = [i for i in answer.items if i.id == "p013"]
    assert len(hits) == 1 and hits[0].title == "Boom portable speaker mk2" and hits[0].price == 10.0
    assert engine.size == 17  # p013 is served from its online row, and counted once
    assert engine.index_info()["online_items"] == 0  # no product was added
    old_version = engine.version
    engine.swap(sample_artifacts)  # the new version lacks nothing: p013 is in it
    assert engine.version == old_version and engine.size == 17
