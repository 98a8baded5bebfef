"""What ``kgrec train`` and ``kgrec embed`` run: export -> train -> checkpoint -> artifacts.

Files, under the data directory:

* ``snapshots/<version>.pt``: the exported graph (:class:`~gnn.snapshot.Snapshot`);
* ``checkpoints/<snapshot version>.pt`` and ``checkpoints/latest.pt``: the model;
* ``artifacts/<version>/``: the serving artifact set (:class:`~gnn.artifacts.ArtifactSet`).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from gnn.artifacts import ArtifactManifest, ArtifactSet
from gnn.checkpoint import Checkpoint
from gnn.config import GNNConfig
from gnn.evaluation import interactions_of
from gnn.snapshot import BRAND, CATEGORY, PRODUCT, USER, Snapshot, export_snapshot
from gnn.splits import build_splits
from gnn.trainer import Trainer, TrainResult, graph_inputs
from graph import GraphStore
from kgrec.errors import ModelError
from kgrec.settings import Settings
from text_encoders import EmbeddingCache, TextEncoder

LATEST_CHECKPOINT = "latest.pt"


def checkpoint_dir(settings: Settings) -> Path:
    return settings.data_dir / "checkpoints"


def export_current(
    settings: Settings, store: GraphStore, encoder: TextEncoder, show_progress: bool = True
) -> Snapshot:
    """Export the graph now and save it as ``snapshots/<version>.pt``."""
    cache = EmbeddingCache.in_data_dir(settings.data_dir)
    snapshot = export_snapshot(store, encoder, cache, show_progress=show_progress)
    snapshot.save(Snapshot.default_path(settings.data_dir, snapshot.version))
    return snapshot


def train_snapshot(
    settings: Settings, snapshot: Snapshot, show_progress: bool = True
) -> tuple[Checkpoint, TrainResult, Path]:
    """Train on every interaction except a per-user latest-10 % validation holdout.

    Returns:
        (checkpoint, training result, path the checkpoint was saved to).

    Raises:
        ModelError: the snapshot has no interactions to learn from.
    """
    inter = interactions_of(snapshot)
    if len(inter.users) == 0:
        raise ModelError("the graph has no interactions to train on; import some first")
    plan = build_splits(
        inter,
        seed=settings.seed,
        cold_item_fraction=0.0,
        cold_user_fraction=0.0,
        test_fraction=0.0,
        val_fraction=0.1,
    )
    config = GNNConfig.from_settings(settings)
    trainer = Trainer(config, settings.resolve_device(), show_progress=show_progress)
    result = trainer.fit(graph_inputs(snapshot, plan.train), plan.train, plan.val)
    checkpoint = Checkpoint.from_training(
        result,
        snapshot,
        {**result.best, "epochs": len(result.epoch_seconds), "seconds": result.total_seconds},
    )
    directory = checkpoint_dir(settings)
    path = checkpoint.save(directory / f"{snapshot.version}.pt")
    shutil.copy2(path, directory / LATEST_CHECKPOINT)
    return checkpoint, result, path


def _product_table(snapshot: Snapshot) -> pd.DataFrame:
    """id, title, price, in_stock, brand_id, category_ids; row = product index."""
    data, ids = snapshot.data, snapshot.ids
    n = len(ids[PRODUCT])
    brand: list[str | None] = [None] * n
    cats: list[list[str]] = [[] for _ in range(n)]
    has_brand = (PRODUCT, "has_brand", BRAND)
    if has_brand in data.edge_types:
        for p, b in data[has_brand].edge_index.T.tolist():
            brand[p] = ids[BRAND][b]
    in_category = (PRODUCT, "in_category", CATEGORY)
    if in_category in data.edge_types:
        for p, c in data[in_category].edge_index.T.tolist():
            cats[p].append(ids[CATEGORY][c])
    table = snapshot.products.copy() if len(snapshot.products) == n else pd.DataFrame()
    table["id"] = ids[PRODUCT]
    for column in ("title", "price", "in_stock"):
        if column not in table:
            table[column] = None
    table["brand_id"] = brand
    table["category_ids"] = cats
    return table[["id", "title", "price", "in_stock", "brand_id", "category_ids"]]


def _category_table(snapshot: Snapshot) -> pd.DataFrame:
    """id, name, parent_id."""
    ids = snapshot.ids[CATEGORY]
    names = list(snapshot.categories["name"]) if len(snapshot.categories) == len(ids) else list(ids)
    parent: list[str | None] = [None] * len(ids)
    sub = (CATEGORY, "subcategory_of", CATEGORY)
    if sub in snapshot.data.edge_types:
        for c, p in snapshot.data[sub].edge_index.T.tolist():
            parent[c] = ids[p]
    frame: dict[str, list[Any]] = {"id": list(ids), "name": names, "parent_id": parent}
    return pd.DataFrame(frame)


def write_artifacts(
    settings: Settings, encoder: TextEncoder, checkpoint_path: Path | None = None
) -> ArtifactSet:
    """Embed every product and user with the latest checkpoint; write an artifact version.

    Raises:
        ModelError: no checkpoint, a checkpoint of another encoder, or its snapshot missing.
    """
    path = checkpoint_path or checkpoint_dir(settings) / LATEST_CHECKPOINT
    checkpoint = Checkpoint.load(path, encoder_id=encoder.model_id)
    snapshot = Snapshot.load(Snapshot.default_path(settings.data_dir, checkpoint.snapshot_version))
    inter = interactions_of(snapshot)
    pairs = torch.stack([inter.users, inter.items])
    emb = checkpoint.embed_snapshot(snapshot, pairs, settings.resolve_device())
    counts = np.bincount(inter.items.numpy(), minlength=len(snapshot.ids[PRODUCT]))
    popularity = (counts / max(1, int(counts.max(initial=0)))).astype(np.float32)
    text = snapshot.data[PRODUCT].x[:, : encoder.dim].numpy()
    manifest = ArtifactManifest(
        version=f"{time.strftime('%Y%m%d-%H%M%S')}-{snapshot.version[:8]}",
        snapshot_version=snapshot.version,
        encoder_id=encoder.model_id,
        graph_dim=int(emb[PRODUCT].shape[1]),
        text_dim=encoder.dim,
        num_products=len(snapshot.ids[PRODUCT]),
        num_users=len(snapshot.ids[USER]),
        model=replace(checkpoint.model.config).to_dict(),
    )
    artifacts = ArtifactSet(
        manifest=manifest,
        products=_product_table(snapshot),
        users=pd.DataFrame({"id": snapshot.ids[USER]}),
        categories=_category_table(snapshot),
        product_graph=emb[PRODUCT].cpu().numpy(),
        user_graph=emb[USER].cpu().numpy(),
        product_text=np.ascontiguousarray(text),
        popularity=popularity,
    )
    artifacts.save(settings.data_dir / "artifacts", checkpoint=path)
    return artifacts
