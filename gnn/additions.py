"""What ``kgrec embed`` adds to an artifact version beyond the training snapshot.

``kgrec embed`` embeds the snapshot the checkpoint was trained on (a full
re-inference). Products and users written to the graph since that export (the
service's ``POST /items`` and ``POST /events``, later imports) are not in it: they
are read from the graph (pages of ids, keyset on id, then rows in batches),
embedded inductively with the same checkpoint
(:class:`~kgrec.gnn.inductive.InductiveEmbedder`, as the service embeds them online),
and appended after the snapshot's rows. They have no interaction in the snapshot,
so their popularity is 0.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import pandas as pd

from kgrec.gnn.artifacts import PRODUCT_COLUMNS, ArtifactSet
from kgrec.gnn.inductive import InductiveEmbedder
from kgrec.gnn.snapshot import PRODUCT, USER, Snapshot, declared_vectors, product_text
from kgrec.graph import GraphStore
from kgrec.typing import PRODUCT as PRODUCT_LABEL
from kgrec.typing import USER as USER_LABEL

log = logging.getLogger(__name__)
BATCH: Final = 256


@dataclass(frozen=True)
class Additions:
    """Products and users the graph holds and a snapshot lacks, embedded.

    Attributes:
        products: one row per product, the artifact's product columns.
        product_graph: float32 [n, D].
        product_text: float32 [n, T].
        users: user ids [m].
        user_graph: float32 [m, D].
        user_attributes: float32 [m, T] the users' declared-attribute vectors, as
            the snapshot's user features are computed (peer popularity weighs
            them against the snapshot's shoppers).
    """

    products: pd.DataFrame
    product_graph: np.ndarray
    product_text: np.ndarray
    users: list[str]
    user_graph: np.ndarray
    user_attributes: np.ndarray

    def append_to(self, artifacts: ArtifactSet) -> ArtifactSet:
        """``artifacts`` with these rows after its own (popularity 0 for the products)."""
        if not len(self.products) and not self.users:
            return artifacts
        n, m = len(self.products), len(self.users)
        return replace(
            artifacts,
            manifest=replace(
                artifacts.manifest,
                num_products=artifacts.manifest.num_products + n,
                num_users=artifacts.manifest.num_users + m,
            ),
            products=pd.concat([artifacts.products, self.products], ignore_index=True),
            users=pd.concat([artifacts.users, pd.DataFrame({"id": self.users})], ignore_index=True),
            product_graph=np.concatenate([artifacts.product_graph, self.product_graph]),
            user_graph=np.concatenate([artifacts.user_graph, self.user_graph]),
            product_text=np.concatenate([artifacts.product_text, self.product_text]),
            popularity=np.concatenate([artifacts.popularity, np.zeros(n, np.float32)]),
        )


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def graph_additions(
    store: GraphStore,
    snapshot: Snapshot,
    embedder: InductiveEmbedder,
    *,
    batch_size: int = BATCH,
) -> Additions:
    """Embed the products and users of the graph that ``snapshot`` lacks.

    Logs how many, and the seconds taken.

    Args:
        store: the graph.
        snapshot: what the checkpoint was trained on (its ids are known).
        embedder: the checkpoint's inductive embedder; its text encoder and cache
            also give the new products' text vectors.
        batch_size: products or users read and embedded at a time.
    """
    start = time.perf_counter()
    known_products, known_users = set(snapshot.ids[PRODUCT]), set(snapshot.ids[USER])
    products = [
        i for page in store.iter_ids(PRODUCT_LABEL) for i in page if i not in known_products
    ]
    users = [i for page in store.iter_ids(USER_LABEL) for i in page if i not in known_users]
    encoder = embedder.encoder
    dim = embedder.dim
    rows, graph = [], [np.zeros((0, dim), np.float32)]
    for batch in _chunks(products, batch_size):
        found = store.product_rows(batch)
        rows += found
        graph.append(embedder.embed_new_items(store, [r["id"] for r in found]))
    texts = [product_text({**(r.get("attrs") or {}), **r}) for r in rows]
    text = (
        embedder.cache.encode(encoder, texts)[0]
        if texts
        else np.zeros((0, encoder.dim), np.float32)
    )
    table = pd.DataFrame(
        {
            "id": [r["id"] for r in rows],
            "title": [r.get("title") for r in rows],
            "price": [r.get("price") for r in rows],
            "in_stock": [r.get("in_stock") for r in rows],
            "brand_id": [r.get("brand_id") for r in rows],
            "category_ids": [list(r.get("category_ids") or []) for r in rows],
        },
        columns=list(PRODUCT_COLUMNS),
    )
    user_graph = [np.zeros((0, dim), np.float32)]
    attributes = [np.zeros((0, encoder.dim), np.float32)]
    for batch in _chunks(users, batch_size):
        user_graph.append(embedder.embed_users(store, batch))
        attributes.append(declared_vectors(store, batch, encoder, embedder.cache))
    additions = Additions(
        products=table,
        product_graph=np.concatenate(graph).astype(np.float32, copy=False),
        product_text=np.ascontiguousarray(text, dtype=np.float32),
        users=users,
        user_graph=np.concatenate(user_graph).astype(np.float32, copy=False),
        user_attributes=np.concatenate(attributes).astype(np.float32, copy=False),
    )
    if rows or users:
        log.info(
            "embedded %d products and %d users the graph holds and snapshot %s lacks in %.1f s",
            len(rows),
            len(users),
            snapshot.version,
            time.perf_counter() - start,
        )
    return additions
