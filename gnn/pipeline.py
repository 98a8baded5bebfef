"""What ``kgrec train`` and ``kgrec embed`` run: export -> train -> checkpoint -> artifacts.

Files, under the data directory:

* ``snapshots/<version>.pt``: the exported graph (:class:`~kgrec.gnn.snapshot.Snapshot`);
* ``checkpoints/<snapshot version>.pt`` and ``checkpoints/latest.pt``: the model;
* ``artifacts/<version>/``: the serving artifact set (:class:`~kgrec.gnn.artifacts.ArtifactSet`).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from kgrec.errors import ArtifactError, GraphConnectionError, ModelError
from kgrec.forget_epoch import forget_epoch, forget_lock
from kgrec.gnn.additions import graph_additions
from kgrec.gnn.artifacts import USERS, ArtifactManifest, ArtifactSet, VersionWriter
from kgrec.gnn.checkpoint import Checkpoint
from kgrec.gnn.evaluation import GNNRecommender, interactions_of, product_text_vectors
from kgrec.gnn.forget import forget_in_version
from kgrec.gnn.latest_model import (
    adopt_version_model,
    make_latest_checkpoint,
    pinned_latest,
    ranking_dir_of,
)
from kgrec.gnn.options import PipelineOptions
from kgrec.gnn.ranking.fitting import GeneratorParams, fit_generators, save_trained, train_ranking
from kgrec.gnn.ranking.served import RANKING_DIR, write_ranking
from kgrec.gnn.schema import HAS_BRAND, IN_CATEGORY
from kgrec.gnn.snapshot import (
    BRAND,
    CATEGORY,
    NUM_PRODUCT_EXTRA,
    PRODUCT,
    USER,
    Snapshot,
    export_snapshot,
)
from kgrec.gnn.splits import SplitPlan, build_splits
from kgrec.gnn.trainer import Trainer, TrainResult, graph_inputs
from kgrec.graph import GraphStore
from kgrec.text_encoders import EmbeddingCache, TextEncoder
from kgrec.typing import USER as USER_LABEL

log = logging.getLogger(__name__)


def export_current(
    options: PipelineOptions, store: GraphStore, encoder: TextEncoder, show_progress: bool = True
) -> Snapshot:
    """Export the graph now and save it as ``snapshots/<version>.pt``."""
    cache = EmbeddingCache.in_data_dir(options.data_dir)
    snapshot = export_snapshot(store, encoder, cache, show_progress=show_progress)
    snapshot.save(options.paths.snapshot(snapshot.version))
    return snapshot


def training_plan(snapshot: Snapshot, seed: int) -> SplitPlan:
    """Plan what ``kgrec train`` learns from.

    Every interaction except a per-user latest-10 % validation holdout
    (``plan.val``), drawn by ``seed``.

    Raises:
        ModelError: the snapshot has no interactions to learn from.
    """
    inter = interactions_of(snapshot)
    if len(inter.users) == 0:
        raise ModelError("the graph has no interactions to train on; import some first")
    return build_splits(
        inter,
        seed=seed,
        cold_item_fraction=0.0,
        cold_user_fraction=0.0,
        test_fraction=0.0,
        val_fraction=0.1,
    )


def train_snapshot(
    options: PipelineOptions,
    snapshot: Snapshot,
    show_progress: bool = True,
    *,
    initial_state: Mapping[str, Tensor] | None = None,
    make_latest: bool = True,
) -> tuple[Checkpoint, TrainResult, Path]:
    """Train on :func:`training_plan`'s pairs, early-stopping on its validation holdout.

    Args:
        options: the GNN configuration, device, ranker switch and data directory.
        snapshot: the exported graph to train on.
        show_progress: tqdm bar with loss and validation Recall@20.
        initial_state: weights the model starts from (a warm start,
            :func:`kgrec.gnn.warm_start.warm_start_state`); None = a fresh initialisation.
        make_latest: also copy the checkpoint (and its ranker) to ``latest.pt``, what
            ``kgrec embed`` embeds with (:func:`make_latest_checkpoint`).

    Returns:
        (checkpoint, training result, path the checkpoint was saved to).

    Raises:
        ModelError: the snapshot has no interactions to learn from.
    """
    plan = training_plan(snapshot, options.gnn.seed)
    trainer = Trainer(options.gnn, options.device, show_progress=show_progress)
    result = trainer.fit(
        graph_inputs(snapshot, plan.train), plan.train, plan.val, initial_state=initial_state
    )
    checkpoint = Checkpoint.from_training(
        result,
        snapshot,
        {**result.best, "epochs": len(result.epoch_seconds), "seconds": result.total_seconds},
    )
    path = checkpoint.save(options.paths.checkpoints / f"{snapshot.version}.pt")
    shutil.rmtree(ranking_dir_of(path), ignore_errors=True)
    if options.ranker:
        trained = _train_ranking(options, snapshot, checkpoint, plan.train, plan.val)
        if trained is not None:
            shutil.copytree(trained, ranking_dir_of(path))
            shutil.rmtree(trained, ignore_errors=True)
    if make_latest:
        make_latest_checkpoint(path)
    return checkpoint, result, path


def _forget_since(data_dir: Path, epoch: str, version: Path, store: GraphStore | None) -> None:
    """Rewrite the new ``version`` without shoppers forgotten while it was built.

    A forget that changed ``epoch`` ran before the version was on disk, so it
    did not reach it: under the forget lock, the version's shoppers the graph no
    longer holds are removed (:func:`kgrec.gnn.forget.forget_in_version`).

    Raises:
        ModelError: a forget landed and removing the shoppers failed (no graph to
            say whom, a query or rewrite error, an interrupt): the version is
            deleted, run ``kgrec embed`` again.
    """
    with forget_lock(data_dir):
        if forget_epoch(data_dir) == epoch:
            return
        try:
            if store is None:
                raise GraphConnectionError("no graph given")
            users = pd.read_parquet(version / USERS, columns=["id"])["id"].astype(str).tolist()
            gone = sorted(set(users) - store.existing_ids(USER_LABEL, users))
            for user_id in gone:
                forget_in_version(version, user_id)
        except BaseException as e:  # whatever stops it, no version holding them is left
            shutil.rmtree(version, ignore_errors=True)
            raise ModelError(
                f"a shopper was forgotten while artifact version {version.name} was built, "
                f"and removing them from it failed ({type(e).__name__}: {e}); the version is "
                "deleted: run `kgrec embed` again (with the graph up)"
            ) from e
        log.info(
            "%d shopper(s) forgotten while %s was built removed from it", len(gone), version.name
        )


def _train_ranking(
    options: PipelineOptions, snapshot: Snapshot, checkpoint: Checkpoint, train: Tensor, val: Tensor
) -> Path | None:
    """Fit the served generators on ``train`` and train the ranker on ``val``.

    Returns:
        The directory the ranking was saved in (None when there was too little to
        learn from).
    """
    start = time.perf_counter()
    num_users, num_items = len(snapshot.ids[USER]), len(snapshot.ids[PRODUCT])
    gnn = GNNRecommender(snapshot, checkpoint.model.config, options.device)
    gnn.checkpoint = checkpoint
    text = product_text_vectors(snapshot, snapshot.data[PRODUCT].x.shape[1] - NUM_PRODUCT_EXTRA)
    generators = fit_generators(
        gnn, snapshot, text, train, num_users, num_items, val, options.gnn.seed
    )
    staged = train_ranking(generators, train, val, num_users, num_items, options.gnn.seed)
    if staged is None:
        return None
    out = save_trained(
        staged,
        GeneratorParams.of(generators),
        Path(tempfile.mkdtemp(dir=options.paths.checkpoints, prefix=".ranking-")),
    )
    log.info("ranker trained in %.1f s", time.perf_counter() - start)
    return out


def _product_table(snapshot: Snapshot) -> pd.DataFrame:
    """id, title, price, in_stock, brand_id, category_ids; row = product index."""
    data, ids = snapshot.data, snapshot.ids
    n = len(ids[PRODUCT])
    brand: list[str | None] = [None] * n
    cats: list[list[str]] = [[] for _ in range(n)]
    if HAS_BRAND in data.edge_types:
        for p, b in data[HAS_BRAND].edge_index.T.tolist():
            brand[p] = ids[BRAND][b]
    if IN_CATEGORY in data.edge_types:
        for p, c in data[IN_CATEGORY].edge_index.T.tolist():
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
    options: PipelineOptions,
    encoder: TextEncoder,
    checkpoint_path: Path | None = None,
    writers: Sequence[VersionWriter] = (),
    store: GraphStore | None = None,
    *,
    promote: bool = True,
) -> ArtifactSet:
    """Embed every product and user with the latest checkpoint into an artifact version.

    The latest checkpoint and its ranker are pinned for the whole embed
    (:func:`~kgrec.gnn.latest_model.pinned_latest`), so a model installed
    meanwhile never mixes with them. ``checkpoint_path`` embeds another model
    instead (with :func:`~kgrec.gnn.latest_model.ranking_dir_of` it as its ranker).

    With ``promote`` the version is promoted (:meth:`kgrec.gnn.versions.VersionStore.promote`:
    LATEST, the promotion history, pruning to ``KGREC_ARTIFACTS__KEEP_VERSIONS``); a
    version of another model than the latest makes its model the latest, as
    ``kgrec artifacts promote`` does, so the next plain embed does not undo it.

    With ``store``, the products and users the graph holds and the training snapshot
    lacks (written since the export: online, or by a later import) are embedded
    inductively with the same checkpoint and added after the snapshot's rows
    (:mod:`kgrec.gnn.additions`).

    The ranker trained with the checkpoint (when there is one, and ``options.ranker``)
    goes into the version with its generators' tables refitted on every interaction;
    ``writers`` add more files (the serving indexes) before the version is published.

    Raises:
        ModelError: no checkpoint, a checkpoint of another encoder, or its snapshot missing.
    """
    if checkpoint_path is not None:
        path = checkpoint_path
        return _write_version(options, encoder, path, writers, store, promote, adopt=True)
    checkpoints = options.paths.checkpoints
    with pinned_latest(checkpoints) as pinned:  # the latest model and its ranker, whole embed
        try:
            return _write_version(options, encoder, pinned, writers, store, promote, adopt=False)
        except (ModelError, ArtifactError) as e:  # named as the user knows them, not by the pin
            raise type(e)(str(e).replace(str(pinned.parent), str(checkpoints))) from e


def _write_version(
    options: PipelineOptions,
    encoder: TextEncoder,
    path: Path,
    writers: Sequence[VersionWriter],
    store: GraphStore | None,
    promote: bool,
    *,
    adopt: bool,
) -> ArtifactSet:
    """:func:`write_artifacts` with the checkpoint at ``path``.

    With ``adopt``, promoting the version also makes its model the latest one
    (:func:`~kgrec.gnn.latest_model.adopt_version_model`).
    """
    checkpoint = Checkpoint.load(path, encoder_id=encoder.model_id)
    epoch = forget_epoch(options.data_dir)  # before the snapshot: forgets since are caught up
    snapshot = Snapshot.load(options.paths.snapshot(checkpoint.snapshot_version))
    inter = interactions_of(snapshot)
    pairs = torch.stack([inter.users, inter.items])
    emb = checkpoint.embed_snapshot(snapshot, pairs, options.device)
    counts = np.bincount(inter.items.numpy(), minlength=len(snapshot.ids[PRODUCT]))
    popularity = (counts / max(1, int(counts.max(initial=0)))).astype(np.float32)
    text = snapshot.data[PRODUCT].x[:, : encoder.dim].numpy()
    versions = options.versions()
    manifest = ArtifactManifest(
        version=versions.new_name(f"{time.strftime('%Y%m%d-%H%M%S')}-{snapshot.version[:8]}"),
        snapshot_version=snapshot.version,
        encoder_id=encoder.model_id,
        graph_dim=int(emb[PRODUCT].shape[1]),
        text_dim=encoder.dim,
        num_products=len(snapshot.ids[PRODUCT]),
        num_users=len(snapshot.ids[USER]),
        model=replace(checkpoint.model.config).to_dict(),
        snapshot_exported_at=snapshot.exported_at,
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
    later_attributes = None  # the added shoppers' declared attributes (peer popularity)
    if store is not None:
        embedder = options.embedder(checkpoint, encoder)
        additions = graph_additions(store, snapshot, embedder)
        artifacts = additions.append_to(artifacts)
        later_attributes = torch.from_numpy(additions.user_attributes)
    trained = ranking_dir_of(path)
    if options.ranker and not trained.is_dir():
        log.warning(
            "no ranker was trained with %s (%s is missing): the version is served with the "
            "default weights",
            path,
            trained,
        )
    extra = list(writers)
    if options.ranker and trained.is_dir():
        num_users, num_items = len(snapshot.ids[USER]), len(snapshot.ids[PRODUCT])

        def ranking(version: Path) -> None:
            write_ranking(
                trained,
                version / RANKING_DIR,
                snapshot,
                pairs,
                num_users,
                num_items,
                later_attributes,
            )

        extra.insert(0, ranking)  # first: a writer may index the ranking's tables
    artifacts.save(versions.root, checkpoint=path, writers=extra, promote=False)
    _forget_since(options.data_dir, epoch, versions.path(manifest.version), store)
    if promote:
        checkpoints = options.paths.checkpoints
        versions.promote(
            manifest.version,
            "kgrec embed",
            then=(lambda v: adopt_version_model(versions.path(v), checkpoints)) if adopt else None,
        )
    return artifacts
