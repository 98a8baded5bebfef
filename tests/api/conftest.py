"""Fixtures of the API tests.

The real text encoder, the shipped sample in the graph, a small GNN trained on it
with its artifact version, and a TestClient factory.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kgrec.api.app import create_app
from kgrec.api.cli.demo import load_sample, sample_dir
from kgrec.api.engine import Engine
from kgrec.api.wiring import Services, engine_options, gnn_embedder_factory, pipeline_options
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.gnn.pipeline import export_current, train_snapshot, write_artifacts
from kgrec.graph import GraphStore
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder, load_encoder
from tests.utils.api import API_KEY, ClientFactory
from tests.utils.online import inductive_engine
from tests.utils.settings import make_settings
from tests.utils.shop import Shop, trained_shop

GRAPH_DIM = 32


@pytest.fixture(scope="session")
def encoder(settings: Settings) -> TextEncoder:
    """The project's configured text encoder (the bundled all-MiniLM-L6-v2)."""
    return load_encoder(settings.text, settings.paths.onnx_models)


@pytest.fixture(scope="session")
def sample_artifacts(
    settings: Settings, _embedded_store: GraphStore, encoder: TextEncoder
) -> ArtifactSet:
    """Artifacts of a small GNN trained on the shipped sample (`kgrec train` + `kgrec embed`)."""
    small = settings.updated(gnn={"hidden_dim": GRAPH_DIM, "epochs": 30, "batch_size": 32})
    _embedded_store.delete_all()
    load_sample(_embedded_store, sample_dir(), settings)
    options = pipeline_options(small)
    snapshot = export_current(options, _embedded_store, encoder, show_progress=False)
    train_snapshot(options, snapshot, show_progress=False)
    return write_artifacts(options, encoder)


@pytest.fixture
def sample_store(store: GraphStore, settings: Settings) -> GraphStore:
    """The session's graph holding exactly the shipped sample."""
    load_sample(store, sample_dir(), settings)
    return store


@pytest.fixture
def make_client(
    data_dir: Path, sample_artifacts: ArtifactSet, encoder: TextEncoder
) -> ClientFactory:
    """``make_client(store, **settings)``: a TestClient on an app over the sample artifacts."""

    @contextlib.contextmanager
    def build(store: GraphStore | None, **overrides: object) -> Iterator[TestClient]:
        settings = make_settings(data_dir, serving={"api_key": API_KEY}).updated(**overrides)

        @contextlib.contextmanager
        def services(s: Settings) -> Iterator[Services]:
            engine = Engine(
                engine_options(s),
                sample_artifacts,
                encoder,
                store,
                embedder_factory=gnn_embedder_factory(s, encoder),
            )
            yield Services(settings=s, engine=engine, store=store)

        with TestClient(create_app(settings, services)) as client:
            yield client

    return build


@pytest.fixture(scope="module")
def shop_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Small-GNN settings over a data directory of the module's own (tests/utils/shop.py)."""
    return make_settings(
        tmp_path_factory.mktemp("shop"),
        gnn={"hidden_dim": 32, "epochs": 15, "batch_size": 64},
        serving={"api_key": "k"},
    )


@pytest.fixture(scope="module")
def shop(
    _embedded_store: GraphStore, shop_settings: Settings, encoder: TextEncoder
) -> tuple[Shop, ArtifactSet]:
    """The shop in the graph, trained (`kgrec train`) and embedded (`kgrec embed`)."""
    return trained_shop(_embedded_store, shop_settings, encoder)


@pytest.fixture
def engine(
    sample_store: GraphStore,
    settings: Settings,
    sample_artifacts: ArtifactSet,
    encoder: TextEncoder,
) -> Engine:
    """An engine over the sample version with its checkpoint's inductive embedder.

    The online-write and restore tests' engine; a module may define its own ``engine``.
    """
    return inductive_engine(settings, sample_artifacts, encoder, sample_store)
