"""``kgrec train --since``: warm start, the promotion gate, and what is promoted.

On the four-genre shop (tests/utils/shop.py) with a few shoppers added after the
first version.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from kgrec.api.synthetic import synthetic_artifacts
from kgrec.api.wiring import pipeline_options
from kgrec.gnn.artifacts import CHECKPOINT, LATEST
from kgrec.gnn.checkpoint import Checkpoint
from kgrec.gnn.inference import graph_inputs
from kgrec.gnn.latest_model import LATEST_CHECKPOINT
from kgrec.gnn.model import MEMORY_WEIGHT
from kgrec.gnn.pipeline import export_current, train_snapshot
from kgrec.gnn.retrain import DECIDING_VIEW, GateRow, decide, retrain
from kgrec.gnn.snapshot import Snapshot
from kgrec.gnn.versions import GATE, VersionStore
from kgrec.gnn.warm_start import warm_start_state
from kgrec.graph import GraphStore
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder
from tests.utils.catalogue import train_small
from tests.utils.settings import make_settings
from tests.utils.shop import GENRES, trained_shop

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shop_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A small GNN, no ranker (the gate reads the GNN; the ranker only costs time)."""
    return make_settings(
        tmp_path_factory.mktemp("retrain"),
        gnn={"hidden_dim": 32, "epochs": 15, "batch_size": 64},
        serving={"ranker": False},
    )


@pytest.fixture(scope="module")
def shop(_embedded_store: GraphStore, shop_settings: Settings, encoder: TextEncoder) -> str:
    """The shop trained and embedded (version 1, promoted); the version's name.

    Then 8 new shoppers with 10 purchases each are written to the graph.
    """
    _, artifacts = trained_shop(_embedded_store, shop_settings, encoder)
    new = [f"new{u}" for u in range(8)]
    _embedded_store.upsert_users([{"id": u} for u in new])
    _embedded_store.upsert_interactions(
        [
            {
                "user_id": u,
                "product_id": f"{GENRES[i % 4]}-{n:02d}",
                "kind": "purchase",
                "ts": 2_000_000 + n,
            }
            for i, u in enumerate(new)
            for n in range(10)
        ]
    )
    return artifacts.manifest.version


def _copying(settings: Settings, **more: object) -> Settings:
    """One epoch at a learning rate too small to move a weight.

    A warm-started model stays the serving one; a cold-started one stays random.
    """
    return settings.updated(gnn={"epochs": 1, "lr": 1e-9}, **more)


def test_the_gate_promotes_a_copy_and_refuses_what_is_worse(
    shop: str, _embedded_store: GraphStore, shop_settings: Settings, encoder: TextEncoder
) -> None:
    versions = VersionStore.in_data_dir(shop_settings.data_dir)
    assert versions.latest() == shop
    out = retrain(
        pipeline_options(_copying(shop_settings, artifacts={"promote_tolerance": 0.001})),
        _embedded_store,
        encoder,
        "LATEST",
        show_progress=False,
    )
    d = out.decision
    assert out.since == shop and out.warm.state is not None, out.warm.reason
    assert d.warm_start.startswith("yes")
    rows = {r.view: r for r in d.rows}
    assert set(rows) == {
        DECIDING_VIEW,
        f"{DECIDING_VIEW}/known_users",
        f"{DECIDING_VIEW}/new_users",
    }
    main = rows[DECIDING_VIEW]
    assert main.serving is not None and main.serving > 0.2, "the shop is learnable"
    assert main.candidate == pytest.approx(main.serving, abs=0.01), "warm start kept the model"
    assert rows[f"{DECIDING_VIEW}/new_users"].users == 8
    assert rows[f"{DECIDING_VIEW}/known_users"].pairs + 8 == main.pairs
    assert d.promote and not d.forced, d.reason
    assert versions.latest() == out.version != shop
    assert versions.previous() == shop
    gate = json.loads((versions.root / out.version / GATE).read_text())
    assert gate["promote"] and gate["serving_version"] == shop
    latest = Checkpoint.load(shop_settings.paths.checkpoints / LATEST_CHECKPOINT)
    assert latest.snapshot_version == out.artifacts.manifest.snapshot_version

    # twice as good is asked for (tolerance -1): refused, nothing serving changes
    latest_bytes = (shop_settings.paths.checkpoints / LATEST_CHECKPOINT).read_bytes()
    strict = _copying(shop_settings, artifacts={"promote_tolerance": -1.0})
    refused = retrain(
        pipeline_options(strict), _embedded_store, encoder, out.version, show_progress=False
    )
    assert not refused.decision.promote and "not promoted" in refused.decision.reason
    assert versions.latest() == out.version
    assert (versions.root / refused.version / CHECKPOINT).is_file(), "kept, to promote by hand"
    assert not json.loads((versions.root / refused.version / GATE).read_text())["promote"]
    assert (shop_settings.paths.checkpoints / LATEST_CHECKPOINT).read_bytes() == latest_bytes

    forced = retrain(
        pipeline_options(strict),
        _embedded_store,
        encoder,
        out.version,
        force=True,
        show_progress=False,
    )
    assert forced.decision.promote and forced.decision.forced
    assert "forced (--force)" in forced.decision.reason
    assert versions.latest() == forced.version


def test_a_promotion_landing_while_a_retrain_writes_is_not_overridden(
    shop: str, _embedded_store: GraphStore, shop_settings: Settings, encoder: TextEncoder
) -> None:
    """The gate compared with ``since``: LATEST moved meanwhile, so nothing is promoted."""
    versions = VersionStore.in_data_dir(shop_settings.data_dir, keep=50)  # the others need shop
    since = versions.latest()
    assert since is not None
    other = synthetic_artifacts(20, 5, graph_dim=4, text_dim=4, clusters=2, seed=3)
    other.manifest = replace(other.manifest, version="promoted-meanwhile")

    def promote_meanwhile(_: Path) -> None:  # an operator's promote while the version is written
        other.save(versions.root, promote=False)
        versions.promote("promoted-meanwhile", "test: an operator's promote")

    out = retrain(
        pipeline_options(
            _copying(shop_settings, artifacts={"promote_tolerance": 0.5, "keep_versions": 50})
        ),
        _embedded_store,
        encoder,
        "LATEST",
        writers=[promote_meanwhile],
        show_progress=False,
    )
    try:
        assert not out.decision.promote, out.decision.reason
        assert "LATEST now names promoted-meanwhile" in out.decision.reason
        assert versions.latest() == "promoted-meanwhile"
        assert not json.loads((versions.root / out.version / GATE).read_text())["promote"]
    finally:
        versions.promote(since, "test: back to the version before")


@pytest.fixture
def previous(shop: str, shop_settings: Settings) -> Checkpoint:
    """The checkpoint saved in the first version."""
    return Checkpoint.load(VersionStore.in_data_dir(shop_settings.data_dir).path(shop) / CHECKPOINT)


@pytest.fixture
def snapshot(
    _embedded_store: GraphStore, shop_settings: Settings, encoder: TextEncoder
) -> Snapshot:
    """The graph now (the shop and the shoppers added since the first version)."""
    return export_current(
        pipeline_options(shop_settings), _embedded_store, encoder, show_progress=False
    )


def test_warm_start_loads_the_previous_weights(
    previous: Checkpoint, snapshot: Snapshot, shop_settings: Settings
) -> None:
    """One step at lr 1e-9 from the previous weights ends on them; from scratch it does not."""
    state = previous.model.state_dict()
    for initial, same in ((state, True), (None, False)):
        trained, _, _ = train_snapshot(
            pipeline_options(_copying(shop_settings)),
            snapshot,
            False,
            initial_state=initial,
            make_latest=False,
        )
        after = trained.model.state_dict()
        close = all(torch.allclose(after[k], v, atol=1e-5) for k, v in state.items())
        assert close is same


def test_warm_start_is_refused_with_the_reason_when_the_shape_changed(
    previous: Checkpoint, snapshot: Snapshot, shop_settings: Settings, encoder: TextEncoder
) -> None:
    graph = graph_inputs(snapshot, torch.zeros((2, 0), dtype=torch.long))
    config = shop_settings.gnn
    fits = warm_start_state(previous, graph, config, encoder.model_id, previous.memory_ids)
    assert fits.state is not None, fits.reason
    wider = shop_settings.updated(gnn={"hidden_dim": 48}).gnn
    refused = warm_start_state(previous, graph, wider, encoder.model_id)
    assert refused.state is None and "hidden_dim 32 -> 48" in refused.reason
    other = warm_start_state(previous, graph, config, "another/encoder")
    assert other.state is None and "another/encoder" in other.reason


def test_warm_start_carries_memory_rows_over_by_product_id(
    snapshot: Snapshot, encoder: TextEncoder
) -> None:
    """A product keeps its row wherever the new table puts it; a new product gets a fresh one."""
    trained = train_small(snapshot, product_memory=True, memory_output=True)
    old, config = trained.memory_ids, trained.model.config
    graph = graph_inputs(snapshot, torch.zeros((2, 0), dtype=torch.long))
    warm = warm_start_state(trained, graph, config, encoder.model_id, [old[1], "new", old[0]])
    assert warm.state is not None, warm.reason
    assert "memory rows carried over for 2 of 3 products" in warm.reason
    table, before = warm.state[MEMORY_WEIGHT], trained.model.state_dict()[MEMORY_WEIGHT]
    assert table.shape == (4, before.shape[1])
    assert torch.equal(table[1], before[2]) and torch.equal(table[3], before[1])
    assert not table[0].any() and table[2].any()
    unknown = warm_start_state(trained, graph, config, encoder.model_id)
    assert unknown.state is None and "product memory" in unknown.reason
    none = warm_start_state(trained, graph, config, encoder.model_id, [])  # nothing to train
    assert none.state is None
    why = 'Unexpected key(s) in state_dict: "memory.weight".'
    assert none.reason == f"the weights do not fit: {why}"


@pytest.mark.parametrize(
    ("serving", "candidate", "tolerance", "force", "promote"),
    [
        (0.50, 0.50, 0.0, False, True),
        (0.50, 0.49, 0.02, False, True),
        (0.50, 0.48, 0.02, False, False),
        (0.50, 0.48, 0.02, True, True),
        (0.50, 0.90, -1.0, False, False),
        (None, 0.90, 0.02, False, False),
    ],
)
def test_decide(
    serving: float | None, candidate: float, tolerance: float, force: bool, promote: bool
) -> None:
    rows = [GateRow(DECIDING_VIEW, 10, 12, serving, candidate)]
    got, forced, reason = decide(rows, tolerance, force)
    assert got is promote and forced is (force and promote)
    assert reason.startswith(
        "promoted" if promote and not force else ("forced" if force else "not")
    )


def test_an_unknown_since_lists_the_versions(
    shop: str, _embedded_store: GraphStore, shop_settings: Settings, encoder: TextEncoder
) -> None:
    from kgrec.errors import ArtifactError

    with pytest.raises(ArtifactError, match=f"unknown artifact version 'nope'.*{shop}"):
        retrain(
            pipeline_options(shop_settings), _embedded_store, encoder, "nope", show_progress=False
        )
    assert (VersionStore.in_data_dir(shop_settings.data_dir).root / LATEST).is_file()
