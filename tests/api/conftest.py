"""Fixtures of the API tests: the real text encoder, the shipped sample in the graph,
artifacts built from it, and a TestClient factory.

Graph vectors: until ``kgrec train``/``kgrec embed`` ship, the artifacts hold a
parameter-free graph embedding of the sample (two rounds of mean propagation of
seeded random node features over the product-brand, product-category, category
tree and user-product edges, LightGCN style); text vectors come from the real
encoder over the text ``text_encoders.compose_product_text`` builds.
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.cli.demo import load_sample, sample_dir
from api.engine import Engine
from api.protocols import TextEncoder
from api.wiring import Services
from gnn.artifacts import ArtifactManifest, ArtifactSet
from graph import GraphStore
from kgrec.settings import Settings
from tests.conftest import make_settings
from text_encoders import compose_product_text, load_encoder

API_KEY = "test-key-123"
GRAPH_DIM = 32


@pytest.fixture(scope="session")
def encoder(settings: Settings) -> TextEncoder:
    """The project's configured text encoder (the bundled all-MiniLM-L6-v2)."""
    return load_encoder(settings)


def _rows(name: str) -> list[dict[str, str]]:
    with (sample_dir() / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def propagated_embeddings(
    products: list[dict[str, str]],
    categories: list[dict[str, str]],
    users: list[str],
    interactions: list[dict[str, str]],
    dim: int = GRAPH_DIM,
) -> tuple[np.ndarray, np.ndarray]:
    """Product [P, dim] and user [U, dim] vectors by mean propagation over the graph."""
    nodes = [f"P:{p['id']}" for p in products] + [f"U:{u}" for u in users]
    nodes += sorted({f"B:{p['brand_id']}" for p in products})
    nodes += [f"C:{c['id']}" for c in categories]
    index = {n: i for i, n in enumerate(nodes)}
    edges = []
    for p in products:
        edges.append((f"P:{p['id']}", f"B:{p['brand_id']}"))
        edges += [(f"P:{p['id']}", f"C:{c}") for c in p["category_ids"].split("|")]
    edges += [(f"C:{c['id']}", f"C:{c['parent_id']}") for c in categories if c["parent_id"]]
    edges += [(f"U:{i['user_id']}", f"P:{i['product_id']}") for i in interactions]
    adj = np.eye(len(nodes), dtype=np.float32)
    for a, b in edges:
        adj[index[a], index[b]] += 1.0
        adj[index[b], index[a]] += 1.0
    adj /= adj.sum(axis=1, keepdims=True)
    x = np.random.default_rng(7).standard_normal((len(nodes), dim)).astype(np.float32)
    x = adj @ (adj @ x)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x[: len(products)], x[len(products) : len(products) + len(users)]


@pytest.fixture(scope="session")
def sample_artifacts(encoder: TextEncoder) -> ArtifactSet:
    """Artifacts of the shipped sample: real text vectors, propagated graph vectors."""
    products, categories = _rows("products.csv"), _rows("categories.csv")
    users = [u["id"] for u in _rows("users.csv")]
    interactions = _rows("interactions.csv")
    graph, user_graph = propagated_embeddings(products, categories, users, interactions)
    names = {c["id"]: c["name"] for c in categories}
    brands = {b["id"]: b["name"] for b in _rows("brands.csv")}
    texts = [
        compose_product_text(
            p["title"],
            p["description"],
            brand=brands[p["brand_id"]],
            categories=[names[c] for c in p["category_ids"].split("|")],
        )
        for p in products
    ]
    text = encoder.encode(texts)
    counts = pd.Series([i["product_id"] for i in interactions]).value_counts()
    pop = np.array([counts.get(p["id"], 0) for p in products], np.float32)
    manifest = ArtifactManifest(
        version="v1",
        snapshot_version="sample",
        encoder_id=encoder.model_id,
        graph_dim=GRAPH_DIM,
        text_dim=encoder.dim,
        num_products=len(products),
        num_users=len(users),
    )
    return ArtifactSet(
        manifest=manifest,
        products=pd.DataFrame(
            {
                "id": [p["id"] for p in products],
                "title": [p["title"] for p in products],
                "price": [float(p["price"]) for p in products],
                "in_stock": [p["in_stock"] == "True" for p in products],
                "brand_id": [p["brand_id"] for p in products],
                "category_ids": [p["category_ids"].split("|") for p in products],
            }
        ),
        users=pd.DataFrame({"id": users}),
        categories=pd.DataFrame(
            {
                "id": [c["id"] for c in categories],
                "name": [c["name"] for c in categories],
                "parent_id": [c["parent_id"] or None for c in categories],
            }
        ),
        product_graph=graph,
        user_graph=user_graph,
        product_text=text,
        popularity=pop / pop.max(),
    )


@pytest.fixture
def sample_store(store: GraphStore) -> GraphStore:
    """The session's graph holding exactly the shipped sample."""
    load_sample(store, sample_dir())
    return store


ClientFactory = Callable[..., contextlib.AbstractContextManager[TestClient]]


@pytest.fixture
def make_client(
    data_dir: Path, sample_artifacts: ArtifactSet, encoder: TextEncoder
) -> ClientFactory:
    """``make_client(store, **settings)``: a TestClient on an app over the sample artifacts."""

    @contextlib.contextmanager
    def build(store: GraphStore | None, **overrides: object) -> Iterator[TestClient]:
        values: dict[str, object] = {"api_key": API_KEY}
        values.update(overrides)
        settings = make_settings(data_dir, **values)

        @contextlib.contextmanager
        def services(s: Settings) -> Iterator[Services]:
            yield Services(
                settings=s, engine=Engine(s, sample_artifacts, encoder, store), store=store
            )

        with TestClient(create_app(settings, services)) as client:
            yield client

    return build
