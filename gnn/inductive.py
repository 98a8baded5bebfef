"""Inductive inference: embed new or changed products and users from the live graph.

An L-layer GNN embedding of a node depends only on its L-hop neighbourhood:
the features of nodes up to L hops away and the edges into nodes up to L-1
hops away. :class:`InductiveEmbedder` reads that neighbourhood from the graph,
bounded like the GNN's neighbour sampling (``GraphStore.sampled_neighbourhood``:
at most ``seed_fanout`` relationships per type of the node embedded, a user's
most recent interactions first, and at most ``fanout`` per type of each node
further out), computes the features the export would compute (same text, same
encoder, same embedding cache), and runs the trained model on that subgraph.

Each node expanded receives messages from exactly the relationships read around
it (its own sample), so a node's embedding does not depend on what else is
embedded in the same call (for L <= 2), and the result is deterministic for a
given graph state. When every node read is within the fan-out the subgraph is
the whole L-hop neighbourhood and the result equals a full re-inference over a
fresh snapshot, without retraining (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from kgrec.errors import ConfigError, ModelError
from kgrec.gnn.checkpoint import Checkpoint
from kgrec.gnn.schema import (
    BRAND,
    CATEGORY,
    ENTITY,
    INTERACTED,
    NUM_PRODUCT_EXTRA,
    PRODUCT,
    USER,
    EdgeType,
    relation_name,
    reverse,
)
from kgrec.gnn.snapshot import node_vectors, product_numeric, product_text
from kgrec.graph import GraphStore
from kgrec.text_encoders import EmbeddingCache, TextEncoder

NODE_TYPE_OF_LABEL: Final = {
    "Product": PRODUCT,
    "Brand": BRAND,
    "Category": CATEGORY,
    "User": USER,
    "Entity": ENTITY,
}
LABEL_OF_NODE_TYPE: Final = {v: k for k, v in NODE_TYPE_OF_LABEL.items()}
_FIXED: Final = {
    "HAS_BRAND": "has_brand",
    "IN_CATEGORY": "in_category",
    "SUBCATEGORY_OF": "subcategory_of",
    "INTERACTED": INTERACTED[1],
}

# A fan-out of 0 ("all") as the per-node limit the graph query takes.
_ALL: Final = 2**31 - 1


def edge_type_of(rel_type: str, src_type: str, dst_type: str, props: dict[str, Any]) -> EdgeType:
    """The snapshot edge type of one graph relationship (in its stored direction)."""
    if rel_type in _FIXED:
        return (src_type, _FIXED[rel_type], dst_type)
    return (src_type, relation_name(str(props.get("relation", rel_type))), dst_type)


class InductiveEmbedder:
    """Embed products and users that the trained model has never seen.

    Args:
        checkpoint: the trained model (its encoder id must match ``encoder``).
        encoder: the text encoder the model was trained with.
        cache: text embeddings already computed (``EmbeddingCache.in_data_dir``).
        device: the torch device the model runs on (``cpu``, ``cuda``).
        seed_fanout: relationships read per type of each node embedded (a user's
            most recent interactions); 0 = all (``KGREC_SERVING__INDUCTIVE_SEED_FANOUT``).
        fanout: relationships read per type of each node further out (the most
            recent first, then by id); 0 = all (``KGREC_SERVING__INDUCTIVE_FANOUT``).

    Raises:
        ModelError: the checkpoint was trained with another text encoder.
        ConfigError: a fan-out is negative.
    """

    def __init__(
        self,
        checkpoint: Checkpoint,
        encoder: TextEncoder,
        cache: EmbeddingCache,
        *,
        device: str,
        seed_fanout: int,
        fanout: int,
    ) -> None:
        if checkpoint.encoder_id != encoder.model_id:
            raise ModelError(
                f"the GNN checkpoint was trained with text encoder {checkpoint.encoder_id!r} "
                f"but {encoder.model_id!r} is loaded; configure that model "
                "(KGREC_TEXT__MODEL) or retrain with `kgrec train`"
            )
        self.checkpoint = checkpoint
        self.encoder = encoder
        self.device = device
        self.model = checkpoint.model.to(self.device).eval()
        self.cache = cache
        self.hops = self.model.config.layers
        self.seed_fanout = seed_fanout
        self.fanout = fanout
        if self.seed_fanout < 0 or self.fanout < 0:
            raise ConfigError(
                f"fan-outs must be >= 0 (0 = all), got seed_fanout={self.seed_fanout}, "
                f"fanout={self.fanout}"
            )

    @property
    def dim(self) -> int:
        """Width D of the embeddings."""
        return self.model.output_dim

    @property
    def fanouts(self) -> list[int]:
        """Relationships read per node and type at each hop (the embedded node's first)."""
        per_hop = [self.seed_fanout] + [self.fanout] * max(0, self.hops - 1)
        return [f if f > 0 else _ALL for f in per_hop[: self.hops]]

    def embed_new_items(self, store: GraphStore, product_ids: Sequence[str]) -> np.ndarray:
        """float32 [n, D] GNN embeddings of products (new, changed or known), row i = id i.

        The products must already be in the graph (with their brand, categories,
        entities and any interactions).

        Raises:
            ModelError: a product id is not in the graph.
        """
        ids = list(dict.fromkeys(product_ids))
        if not ids:
            return np.zeros((0, self.dim), dtype=np.float32)
        found = store.nodes_by_id("Product", ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise ModelError(
                f"products {missing[:5]} are not in the graph; upsert them before embedding"
            )
        out = self._embed(store, PRODUCT, ids, found)
        index = {i: n for n, i in enumerate(ids)}
        rows: np.ndarray = out[[index[i] for i in product_ids]]
        return rows

    def embed_user(self, store: GraphStore, user_id: str) -> np.ndarray:
        """float32 [D] GNN embedding of a user from its interactions in the graph now.

        A user absent from the graph, or without interactions, gets the embedding
        of a user with no history (the same for every such user).
        """
        vector: np.ndarray = self.embed_users(store, [user_id])[0]
        return vector

    def embed_users(self, store: GraphStore, user_ids: Sequence[str]) -> np.ndarray:
        """float32 [n, D] GNN embeddings of users, row i = id i (see :meth:`embed_user`)."""
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self._embed(store, USER, ids, store.nodes_by_id("User", ids))
        index = {i: n for n, i in enumerate(ids)}
        rows: np.ndarray = out[[index[i] for i in user_ids]]
        return rows

    @torch.no_grad()
    def _embed(
        self,
        store: GraphStore,
        node_type: str,
        ids: list[str],
        seed_props: dict[str, dict[str, Any]],
    ) -> np.ndarray:
        label = LABEL_OF_NODE_TYPE[node_type]
        nodes: dict[str, list[str]] = {t: [] for t in NODE_TYPE_OF_LABEL.values()}
        nodes[node_type] = list(ids)
        props: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in nodes}
        props[node_type].update(seed_props)
        rels = (
            store.sampled_neighbourhood(label, ids, self.fanouts) if self.hops else pd.DataFrame()
        )
        messages = self._messages(rels, nodes, props)
        index = {t: {i: n for n, i in enumerate(v)} for t, v in nodes.items()}
        x = self._features(store, nodes, props)
        edge_index: dict[EdgeType, Tensor] = {}
        for et, pairs in messages.items():
            src = [index[et[0]][s] for s, _ in pairs]
            dst = [index[et[2]][d] for _, d in pairs]
            edge_index[et] = (
                torch.tensor([src, dst], dtype=torch.long).reshape(2, -1).to(self.device)
            )
        num_nodes = {t: len(v) for t, v in nodes.items()}
        memory = self.checkpoint.memory_rows(nodes[PRODUCT]).to(self.device)
        emb = self.model(x, edge_index, num_nodes, memory)
        rows: Tensor = emb[node_type][: len(ids)]
        return rows.float().cpu().numpy().astype(np.float32, copy=False)

    @staticmethod
    def _messages(
        rels: pd.DataFrame,
        nodes: dict[str, list[str]],
        props: dict[str, dict[str, dict[str, Any]]],
    ) -> dict[EdgeType, list[Any]]:
        """Messages (source, destination) per edge type, each into the node expanded.

        A relationship read around node ``s`` carries the other end's state into
        ``s`` only (along the stored type, or its reverse when ``s`` is the stored
        source), so what a node aggregates is exactly its own sample. Every
        relationship is one message, as in the snapshot (a product viewed and then
        bought is two). Fills ``nodes`` and ``props`` with the nodes reached.
        """
        known = {t: set(v) for t, v in nodes.items()}
        messages: dict[EdgeType, list[Any]] = {}
        columns = ("src_label", "src", "type", "outgoing", "dst_label", "dst", "props")
        for src_label, s_id, rel_type, outgoing, dst_label, n_id, rel_props, dst_props in zip(
            *(rels[c] for c in columns), rels["dst_props"], strict=True
        ):
            s_type = NODE_TYPE_OF_LABEL[str(src_label)]
            n_type = NODE_TYPE_OF_LABEL[str(dst_label)]
            relation = rel_props.get("relation") if isinstance(rel_props, dict) else None
            if n_id not in known[n_type]:
                known[n_type].add(n_id)
                nodes[n_type].append(n_id)
            if isinstance(dst_props, dict):
                props[n_type].setdefault(n_id, dict(dst_props))
            edge_props = {} if relation is None else {"relation": relation}
            if outgoing:  # stored s -> n: n's state reaches s along the reverse type
                et = reverse(edge_type_of(str(rel_type), s_type, n_type, edge_props))
            else:  # stored n -> s
                et = edge_type_of(str(rel_type), n_type, s_type, edge_props)
            messages.setdefault(et, []).append((str(n_id), str(s_id)))
        return messages

    def _features(
        self,
        store: GraphStore,
        nodes: dict[str, list[str]],
        props: dict[str, dict[str, dict[str, Any]]],
    ) -> dict[str, Tensor]:
        """Input features per node type, computed as the snapshot export computes them.

        ``props`` holds the properties already read; the others are read here.
        """
        x: dict[str, Tensor] = {}
        for t, ids in nodes.items():
            if self.model.in_dims.get(t, 0) == 0:  # a checkpoint without user features
                x[t] = torch.zeros((len(ids), 0), device=self.device)
                continue
            have = props[t]
            unread = [i for i in ids if i not in have]
            if unread:
                have.update(store.nodes_by_id(LABEL_OF_NODE_TYPE[t], unread))
            rows = [{**have.get(i, {}), "id": i} for i in ids]
            if not rows:
                vectors = np.zeros((0, self.encoder.dim), dtype=np.float32)
            elif t == PRODUCT:
                vectors = self.cache.encode(self.encoder, [product_text(p) for p in rows])[0]
            else:
                vectors = node_vectors(t, rows, self.encoder, self.cache)
            if t == PRODUCT:
                extra = (
                    product_numeric(rows)
                    if rows
                    else np.zeros((0, NUM_PRODUCT_EXTRA), dtype=np.float32)
                )
                vectors = np.concatenate([vectors, extra], axis=1)
            x[t] = torch.from_numpy(np.ascontiguousarray(vectors)).to(self.device)
        return x
