"""Shoppers `kgrec embed` adds after training are served as `kgrec evaluate` measures them.

A shopper in the graph but not in the training snapshot (a nightly embed picks
them up) has no history in the version. The order a shopper without history is
served is peer popularity: what the shoppers alike in what they declared chose.
On the genre shop (tests/utils/shop.py) every shopper declares its taste.
"""

from __future__ import annotations

import numpy as np
import pytest

from kgrec.api.wiring import pipeline_options, version_writers
from kgrec.gnn.pipeline import export_current, train_snapshot, write_artifacts
from kgrec.gnn.ranking.peer_popularity import load_peer_weights
from kgrec.gnn.ranking.served import PEER_FILE, RANKING_DIR
from kgrec.graph import GraphStore
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder
from tests.utils.shop import load_genre_shop, shop_engine

pytestmark = [pytest.mark.slow, pytest.mark.neo4j]


def test_a_shopper_added_after_training_is_served_its_peers_choices(
    _embedded_store: GraphStore, shop_settings: Settings, encoder: TextEncoder
) -> None:
    store = _embedded_store
    store.delete_all()
    shop = load_genre_shop(store, declared=True)
    options = pipeline_options(shop_settings)
    snapshot = export_current(options, store, encoder, show_progress=False)
    train_snapshot(options, snapshot, show_progress=False)
    store.upsert_users([{"id": "late", "attrs": {"occupation": "horror fan"}}])
    artifacts = write_artifacts(
        options, encoder, writers=version_writers(shop_settings), store=store
    )
    assert artifacts.path is not None
    users = artifacts.users["id"].astype(str).tolist()
    row = users.index("late")
    assert row == len(shop.favourite)  # after the snapshot's shoppers
    peers = load_peer_weights(artifacts.path / RANKING_DIR / PEER_FILE)
    assert peers.shape == (row + 1, row + 1)
    weight = peers[row].toarray()[0]  # weighed like the others: its alike ones the most
    fans = [users.index(u) for u in shop.fans("horror")]
    others = [u for u in range(row) if u not in fans]
    assert weight[fans].min() > weight[others].max() and weight[row] == 0
    engine = shop_engine(shop_settings, artifacts, encoder, None)

    def horror_share(shopper: str) -> float:
        answer = engine.recommend(shopper, k=10)
        assert answer.ranking == "learned"
        return float(np.mean([shop.genre_of[i.id] == "horror" for i in answer.items]))

    # peer popularity orders a shopper without history: its peers' genre first; a
    # stranger hears every voter alike (as "late" did before): the genres spread
    late, stranger = horror_share("late"), horror_share("stranger")
    assert late >= 0.6 and late >= stranger + 0.3, (late, stranger)
