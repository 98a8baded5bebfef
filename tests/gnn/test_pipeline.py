"""train -> checkpoint -> artifacts on the small catalogue; checkpoint checks."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch

from kgrec.api.wiring import pipeline_options
from kgrec.errors import ModelError
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.gnn.checkpoint import Checkpoint
from kgrec.gnn.pipeline import export_current, train_snapshot, write_artifacts
from kgrec.gnn.snapshot import Snapshot
from kgrec.graph import GraphStore
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder
from tests.utils.catalogue import export, train_small
from tests.utils.files import flip_bit_in_record


def test_train_then_embed_writes_a_loadable_artifact_version(
    catalogue: GraphStore, encoder: TextEncoder, settings: Settings, tmp_path: Path
) -> None:
    local = settings.updated(
        data_dir=tmp_path, gnn={"epochs": 3, "hidden_dim": 16, "batch_size": 32}
    )
    options = pipeline_options(local)
    snapshot = export_current(options, catalogue, encoder, show_progress=False)
    checkpoint, result, path = train_snapshot(options, snapshot, show_progress=False)
    assert path.exists() and checkpoint.snapshot_version == snapshot.version
    assert len(result.epoch_seconds) >= 1
    artifacts = write_artifacts(options, encoder)
    assert artifacts.path is not None
    loaded = ArtifactSet.load(artifacts.path)
    assert loaded.manifest.num_products == 12 and loaded.manifest.num_users == 9
    assert loaded.product_graph.shape == (12, 16 + encoder.dim + 2)  # GNN + text channel
    assert loaded.product_text.shape[1] == encoder.dim
    assert loaded.popularity.max() == pytest.approx(1.0) and loaded.popularity.min() >= 0.0
    row = loaded.products.set_index("id").loc["p4"]
    assert row["brand_id"] == "b0" and list(row["category_ids"]) == ["c1"]
    assert loaded.checkpoint_path is not None
    assert ArtifactSet.latest_path(tmp_path / "artifacts") == artifacts.path


def test_checkpoint_round_trip_and_mismatch_errors(
    catalogue: GraphStore, encoder: TextEncoder, settings: Settings, tmp_path: Path
) -> None:
    snapshot = export(catalogue, encoder, settings)
    checkpoint = train_small(snapshot, product_memory=True)
    path = checkpoint.save(tmp_path / "ckpt.pt")
    loaded = Checkpoint.load(path, encoder_id=encoder.model_id, snapshot_version=snapshot.version)
    for a, b in zip(
        checkpoint.model.state_dict().values(), loaded.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)
    assert loaded.model.config == checkpoint.model.config
    assert loaded.memory_ids == checkpoint.memory_ids and loaded.memory_ids
    with pytest.raises(ModelError, match="text encoder"):
        Checkpoint.load(path, encoder_id="other/model")
    with pytest.raises(ModelError, match="snapshot"):
        Checkpoint.load(path, snapshot_version="0000")
    with pytest.raises(ModelError, match="kgrec train"):
        Checkpoint.load(tmp_path / "missing.pt")


def test_a_bit_flipped_in_a_saved_tensor_is_an_error_naming_the_file(
    catalogue: GraphStore, encoder: TextEncoder, settings: Settings, tmp_path: Path
) -> None:
    """torch.load would read the changed weight as it is; the archive's CRC-32 says no."""
    snapshot = export(catalogue, encoder, settings)
    path = train_small(snapshot).save(tmp_path / "ckpt.pt")
    Checkpoint.load(path)
    record = flip_bit_in_record(path)
    torch.load(path, weights_only=False)  # what kgrec read before: no error
    with pytest.raises(ModelError) as e:
        Checkpoint.load(path)
    assert f"cannot read the checkpoint {path}" in str(e.value)
    assert f"{record} fails its CRC-32 check" in str(e.value)
    saved = snapshot.save(tmp_path / "snapshot.pt")
    assert Snapshot.load(saved).version == snapshot.version
    flip_bit_in_record(saved)
    with pytest.raises(ModelError, match=f"cannot read the snapshot {saved}: .* CRC-32"):
        Snapshot.load(saved)


def test_snapshot_version_follows_text_as_well_as_structure(
    catalogue: GraphStore, encoder: TextEncoder, settings: Settings
) -> None:
    first = export(catalogue, encoder, settings)
    assert export(catalogue, encoder, settings).version == first.version
    catalogue.upsert_products([{"id": "p1", "title": "A retitled film", "brand_id": "b1"}])
    retitled = export(catalogue, encoder, settings)
    assert retitled.ids == first.ids
    assert retitled.version != first.version  # same graph, new features: a checkpoint must not pass


def test_embed_adds_what_the_graph_holds_and_the_snapshot_lacks(
    catalogue: GraphStore, encoder: TextEncoder, settings: Settings, tmp_path: Path
) -> None:
    """`kgrec embed` takes in products and users written online since the export.

    They are in the version, embedded inductively with the same checkpoint, with
    popularity 0.
    """
    local = settings.updated(
        data_dir=tmp_path, gnn={"epochs": 2, "hidden_dim": 16, "batch_size": 32}
    )
    options = pipeline_options(local)
    snapshot = export_current(options, catalogue, encoder, show_progress=False)
    checkpoint, _, _ = train_snapshot(options, snapshot, show_progress=False)
    catalogue.upsert_products(
        [{"id": "p_new", "title": "A film added online", "brand_id": "b1", "category_ids": ["c2"]}]
    )
    catalogue.upsert_users([{"id": "u_new"}])
    catalogue.upsert_interactions(
        [
            {"user_id": "u_new", "product_id": "p_new", "kind": "view", "ts": 7000},
            {"user_id": "u_new", "product_id": "p1", "kind": "view", "ts": 7001},
        ]
    )
    loaded = ArtifactSet.load(_path(write_artifacts(options, encoder, store=catalogue)))
    assert (loaded.manifest.num_products, loaded.manifest.num_users) == (13, 10)
    assert list(loaded.products["id"])[-1] == "p_new" and list(loaded.users["id"])[-1] == "u_new"
    row = loaded.products.set_index("id").loc["p_new"]
    assert row["title"] == "A film added online" and row["brand_id"] == "b1"
    assert list(row["category_ids"]) == ["c2"] and loaded.popularity[-1] == 0.0
    embedder = options.embedder(checkpoint, encoder)
    np.testing.assert_allclose(
        loaded.product_graph[-1], embedder.embed_new_items(catalogue, ["p_new"])[0], atol=1e-5
    )
    np.testing.assert_allclose(
        loaded.user_graph[-1], embedder.embed_user(catalogue, "u_new"), atol=1e-5
    )
    assert loaded.product_text[-1] @ loaded.product_text[-1] == pytest.approx(1.0, abs=1e-3)
    time.sleep(1.1)  # a version is named by the second it is written in
    without = ArtifactSet.load(_path(write_artifacts(options, encoder)))  # no graph: snapshot only
    assert (without.manifest.num_products, without.manifest.num_users) == (12, 9)


def _path(artifacts: ArtifactSet) -> Path:
    assert artifacts.path is not None
    return artifacts.path
