"""Seeded synthetic artifact sets, for the serving bench and the ranking tests.

Vectors are drawn around cluster centres (as trained embeddings are), so ANN
recall figures measured on them mean something; products of one cluster share
a category and mostly a brand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kgrec.gnn.artifacts import ArtifactManifest, ArtifactSet


def _unit(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return out


def synthetic_artifacts(
    num_products: int,
    num_users: int = 1000,
    *,
    graph_dim: int = 64,
    text_dim: int = 384,
    clusters: int = 256,
    noise: float = 0.6,
    seed: int = 0,
    version: str = "synthetic",
    encoder_id: str = "synthetic",
) -> ArtifactSet:
    """An artifact set of ``num_products`` products and ``num_users`` users.

    Returns:
        ArtifactSet with product_graph [P, graph_dim], product_text [P, text_dim]
        (L2-normalised), user_graph [U, graph_dim], popularity [P] in [0, 1];
        categories ``c<cluster>`` under roots ``r<cluster % 8>``, brands ``b<n>``.
    """
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, clusters, size=num_products)
    g_centres = _unit(rng.standard_normal((clusters, graph_dim)).astype(np.float32))
    t_centres = _unit(rng.standard_normal((clusters, text_dim)).astype(np.float32))
    graph = np.empty((num_products, graph_dim), np.float32)
    text = np.empty((num_products, text_dim), np.float32)
    step = 100_000
    for start in range(0, num_products, step):
        c = cluster[start : start + step]
        n = len(c)
        g = g_centres[c] + noise * rng.standard_normal((n, graph_dim)).astype(np.float32) / np.sqrt(
            graph_dim
        )
        t = t_centres[c] + noise * rng.standard_normal((n, text_dim)).astype(np.float32) / np.sqrt(
            text_dim
        )
        graph[start : start + n] = _unit(g)
        text[start : start + n] = _unit(t)
    brand = (cluster * 4 + rng.integers(0, 4, size=num_products)).astype(np.int64)
    ids = np.char.add("p", np.arange(num_products).astype(str))
    products = pd.DataFrame(
        {
            "id": ids.astype(object),
            "title": np.char.add("Product ", np.arange(num_products).astype(str)).astype(object),
            "price": rng.uniform(1.0, 500.0, size=num_products).round(2),
            "in_stock": rng.random(num_products) > 0.1,
            "brand_id": np.char.add("b", brand.astype(str)).astype(object),
            "category_ids": [[f"c{c}"] for c in cluster.tolist()],
        }
    )
    categories = pd.DataFrame(
        {
            "id": [f"r{r}" for r in range(8)] + [f"c{c}" for c in range(clusters)],
            "name": [f"Root {r}" for r in range(8)] + [f"Category {c}" for c in range(clusters)],
            "parent_id": [None] * 8 + [f"r{c % 8}" for c in range(clusters)],
        }
    )
    u_cluster = rng.integers(0, clusters, size=num_users)
    users_graph = _unit(
        g_centres[u_cluster]
        + noise
        * rng.standard_normal((num_users, graph_dim)).astype(np.float32)
        / np.sqrt(graph_dim)
    )
    popularity = rng.pareto(2.0, size=num_products).astype(np.float32)
    popularity /= popularity.max() if num_products else 1.0
    manifest = ArtifactManifest(
        version=version,
        snapshot_version="synthetic",
        encoder_id=encoder_id,
        graph_dim=graph_dim,
        text_dim=text_dim,
        num_products=num_products,
        num_users=num_users,
    )
    return ArtifactSet(
        manifest=manifest,
        products=products,
        users=pd.DataFrame({"id": [f"u{j}" for j in range(num_users)]}),
        categories=categories,
        product_graph=graph,
        user_graph=users_graph,
        product_text=text,
        popularity=popularity,
    )
