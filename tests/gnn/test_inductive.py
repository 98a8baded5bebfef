"""Inductive inference equals a full re-inference over an updated snapshot."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from kgrec.api.wiring import pipeline_options
from kgrec.errors import ConfigError, ModelError
from kgrec.gnn.checkpoint import Checkpoint
from kgrec.gnn.evaluation import interactions_of
from kgrec.gnn.inductive import InductiveEmbedder
from kgrec.gnn.snapshot import PRODUCT, USER, Snapshot
from kgrec.graph import GraphStore
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder
from tests.utils.catalogue import export, train_small


def embedder_of(
    checkpoint: Checkpoint,
    encoder: TextEncoder,
    settings: Settings,
    *,
    seed_fanout: int | None = None,
    fanout: int | None = None,
) -> InductiveEmbedder:
    """The embedder the service builds from ``settings``; a fan-out given here wins."""
    options = pipeline_options(settings)
    return replace(
        options,
        seed_fanout=options.seed_fanout if seed_fanout is None else seed_fanout,
        fanout=options.fanout if fanout is None else fanout,
    ).embedder(checkpoint, encoder)


def full_inference(checkpoint: Checkpoint, snapshot: Snapshot) -> dict[str, torch.Tensor]:
    inter = interactions_of(snapshot)
    return checkpoint.embed_snapshot(snapshot, torch.stack([inter.users, inter.items]))


MEMORY_CHANNEL: dict[str, object] = {
    "product_memory": True,
    "memory_output": True,
    "degree_bias": True,
}


@pytest.mark.parametrize(
    ("config", "fanout"),
    [
        ({}, None),
        ({"product_memory": True}, None),
        (MEMORY_CHANNEL, None),
        ({**MEMORY_CHANNEL, "layers": 1}, None),  # a user's own edges only go into it
        ({}, 0),
    ],
    ids=["content", "product-memory", "memory-channel", "channels-one-layer", "unbounded"],
)
def test_new_product_and_user_embed_as_in_a_full_reinference(
    catalogue: GraphStore,
    encoder: TextEncoder,
    settings: Settings,
    config: dict[str, object],
    fanout: int | None,
) -> None:
    """Within the default fan-out (or with none: 0) the result is a full re-inference's.

    The bounded read is then the whole neighbourhood.
    """
    before = export(catalogue, encoder, settings)
    checkpoint = train_small(before, **config)
    memory = bool(config.get("product_memory"))
    # with product memory, exactly the products trained on own a row
    rated = sorted({before.ids[PRODUCT][i] for i in interactions_of(before).items.tolist()})
    assert sorted(checkpoint.memory_ids) == (rated if memory else [])
    embedder = embedder_of(checkpoint, encoder, settings, seed_fanout=fanout, fanout=fanout)

    # after training: a new film, a new director, a new user who rated it and p1
    catalogue.upsert_products(
        [
            {
                "id": "p_new",
                "title": "Comedy film number 99",
                "price": 12.0,
                "brand_id": "b1",
                "category_ids": ["c1", "c2"],
            }
        ]
    )
    catalogue.upsert_entities([{"id": "e_new", "kind": "director", "name": "Director New"}])
    catalogue.link_entities(
        [
            {"product_id": "p_new", "entity_id": "e_new", "relation": "film.directed_by"},
            {"product_id": "p_new", "entity_id": "e1", "relation": "film.directed_by"},
        ]
    )
    catalogue.upsert_users([{"id": "u_new"}])
    catalogue.upsert_interactions(
        [
            {"user_id": "u_new", "product_id": "p_new", "kind": "rate", "ts": 9000},
            {"user_id": "u_new", "product_id": "p1", "kind": "rate", "ts": 9001},
            {"user_id": "u_new", "product_id": "p1", "kind": "view", "ts": 9003},  # twice
            {"user_id": "u2", "product_id": "p_new", "kind": "rate", "ts": 9002},
        ]
    )
    items = embedder.embed_new_items(catalogue, ["p_new", "p1"])
    user = embedder.embed_user(catalogue, "u_new")
    known_user = embedder.embed_user(catalogue, "u2")

    after = export(catalogue, encoder, settings)
    assert after.version != before.version
    full = full_inference(checkpoint, after)
    pidx, uidx = after.index(PRODUCT), after.index(USER)
    assert items.dtype == np.float32 and items.shape == (2, embedder.dim)
    np.testing.assert_allclose(items[0], full[PRODUCT][pidx["p_new"]].numpy(), atol=1e-5)
    np.testing.assert_allclose(items[1], full[PRODUCT][pidx["p1"]].numpy(), atol=1e-5)
    assert user.shape == (embedder.dim,)
    np.testing.assert_allclose(user, full[USER][uidx["u_new"]].numpy(), atol=1e-5)
    np.testing.assert_allclose(known_user, full[USER][uidx["u2"]].numpy(), atol=1e-5)
    # the new product moved the embedding of a user who rated it
    old = full_inference(checkpoint, before)[USER][before.index(USER)["u2"]].numpy()
    assert not np.allclose(known_user, old, atol=1e-4)


def test_users_without_history_share_one_embedding(
    catalogue: GraphStore, encoder: TextEncoder, settings: Settings
) -> None:
    snapshot = export(catalogue, encoder, settings)
    embedder = embedder_of(train_small(snapshot), encoder, settings)
    catalogue.upsert_users([{"id": "u_empty"}])
    absent = embedder.embed_user(catalogue, "nobody")
    empty = embedder.embed_user(catalogue, "u_empty")
    np.testing.assert_allclose(absent, empty, atol=1e-6)
    assert not np.allclose(absent, embedder.embed_user(catalogue, "u0"), atol=1e-4)


def test_unknown_product_and_wrong_encoder_are_clear_errors(
    catalogue: GraphStore, encoder: TextEncoder, settings: Settings
) -> None:
    snapshot = export(catalogue, encoder, settings)
    checkpoint = train_small(snapshot)
    embedder = embedder_of(checkpoint, encoder, settings)
    with pytest.raises(ModelError, match="not in the graph"):
        embedder.embed_new_items(catalogue, ["missing"])
    checkpoint.encoder_id = "another-encoder"
    with pytest.raises(ModelError, match="another-encoder"):
        embedder_of(checkpoint, encoder, settings)


def test_a_heavy_shopper_is_embedded_from_a_bounded_neighbourhood(
    catalogue: GraphStore, encoder: TextEncoder, settings: Settings
) -> None:
    """Only the user's N most recent interactions count.

    Further out, at most M relationships per node and type: an older event changes
    nothing, a newer one does.
    """
    embedder = embedder_of(
        train_small(export(catalogue, encoder, settings)),
        encoder,
        settings,
        seed_fanout=3,
        fanout=2,
    )
    assert embedder.fanouts == [3, 2]
    catalogue.upsert_users([{"id": "u_heavy"}])
    catalogue.upsert_interactions(
        [
            {"user_id": "u_heavy", "product_id": f"p{i}", "kind": "rate", "ts": 5000 + i}
            for i in range(12)
        ]
    )
    read = catalogue.sampled_neighbourhood("User", ["u_heavy"], embedder.fanouts)
    assert len(read) <= 3 + 3 * 2 * 4  # 3 products, each at most 2 per type of 4 types
    vector = embedder.embed_user(catalogue, "u_heavy")
    np.testing.assert_array_equal(vector, embedder.embed_user(catalogue, "u_heavy"))
    catalogue.upsert_interactions(
        [{"user_id": "u_heavy", "product_id": "p0", "kind": "view", "ts": 10}]
    )  # older than the 3 most recent
    np.testing.assert_array_equal(vector, embedder.embed_user(catalogue, "u_heavy"))
    catalogue.upsert_interactions(
        [{"user_id": "u_heavy", "product_id": "p0", "kind": "view", "ts": 9000}]
    )
    assert not np.allclose(vector, embedder.embed_user(catalogue, "u_heavy"), atol=1e-4)


def test_a_node_embeds_the_same_alone_or_in_a_batch(
    catalogue: GraphStore, encoder: TextEncoder, settings: Settings
) -> None:
    """The batch a node is embedded in does not change its vector.

    Each node aggregates exactly its own sample (a restart's restore embeds hundreds
    at once).
    """
    embedder = embedder_of(
        train_small(export(catalogue, encoder, settings)),
        encoder,
        settings,
        seed_fanout=2,
        fanout=1,
    )
    users = ["u0", "u1", "u4", "nobody"]
    batch = embedder.embed_users(catalogue, users)
    for i, u in enumerate(users):
        np.testing.assert_allclose(batch[i], embedder.embed_user(catalogue, u), atol=1e-6)
    products = ["p0", "p3", "p7"]
    batch = embedder.embed_new_items(catalogue, products)
    for i, p in enumerate(products):
        np.testing.assert_allclose(batch[i], embedder.embed_new_items(catalogue, [p])[0], atol=1e-6)
    with pytest.raises(ConfigError, match="fan-outs"):
        embedder_of(embedder.checkpoint, encoder, settings, fanout=-1)
