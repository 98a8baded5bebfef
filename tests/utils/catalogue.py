"""A small catalogue graph written through GraphStore upserts, exported and trained small."""

from __future__ import annotations

import torch

from kgrec.gnn.checkpoint import Checkpoint
from kgrec.gnn.config import GNNConfig
from kgrec.gnn.evaluation import interactions_of
from kgrec.gnn.snapshot import Snapshot, export_snapshot
from kgrec.gnn.trainer import Trainer, graph_inputs
from kgrec.graph import GraphStore
from kgrec.settings import Settings
from kgrec.text_encoders import EmbeddingCache, TextEncoder

GENRES = ("Action", "Comedy", "Drama")


def write_catalogue(store: GraphStore) -> None:
    """12 products in 3 genres, 2 studios, 4 directors, 9 users with 4 ratings each."""
    store.upsert_categories([{"id": f"c{i}", "name": g} for i, g in enumerate(GENRES)])
    store.upsert_products(
        [
            {
                "id": f"p{i}",
                "title": f"{GENRES[i % 3]} film number {i}",
                "price": 5.0 + i,
                "brand_id": f"b{i % 2}",
                "brand_name": f"Studio {i % 2}",
                "category_ids": [f"c{i % 3}"],
            }
            for i in range(12)
        ]
    )
    store.upsert_entities(
        [{"id": f"e{i}", "kind": "director", "name": f"Director {i}"} for i in range(4)]
    )
    store.link_entities(
        [
            {"product_id": f"p{i}", "entity_id": f"e{i % 4}", "relation": "film.directed_by"}
            for i in range(12)
        ]
    )
    store.upsert_users([{"id": f"u{u}"} for u in range(9)])
    store.upsert_interactions(
        [
            {
                "user_id": f"u{u}",
                "product_id": f"p{(u % 3) + 3 * k}",
                "kind": "rate",
                "ts": 1000 * u + k,
                "value": 4.0,
            }
            for u in range(9)
            for k in range(4)
        ]
    )


def export(store: GraphStore, encoder: TextEncoder, settings: Settings) -> Snapshot:
    return export_snapshot(
        store, encoder, EmbeddingCache.in_data_dir(settings.data_dir), show_progress=False
    )


def train_small(snapshot: Snapshot, **config: object) -> Checkpoint:
    """A few BPR epochs on the snapshot's interactions."""
    inter = interactions_of(snapshot)
    pairs = torch.stack([inter.users, inter.items])
    cfg = GNNConfig(**{"hidden_dim": 16, "epochs": 3, "batch_size": 32, "mode": "full", **config})  # type: ignore[arg-type]
    result = Trainer(cfg, show_progress=False).fit(graph_inputs(snapshot, pairs), pairs)
    return Checkpoint.from_training(result, snapshot, {})
