"""Inductive inference: embed new or changed products and users from the live graph.

An L-layer GNN embedding of a node depends only on its L-hop neighbourhood:
the features of nodes up to L hops away and the edges into nodes up to L-1
hops away. :class:`InductiveEmbedder` reads exactly that from the graph
(``GraphStore.neighbourhood`` returns every relationship of every node within
L-1 hops), computes the features the export would compute (same text, same
encoder, same embedding cache), and runs the trained model on the subgraph, so
the result equals a full re-inference over a fresh snapshot, without retraining.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from gnn.checkpoint import Checkpoint
from gnn.snapshot import (
    BRAND,
    CATEGORY,
    ENTITY,
    INTERACTED,
    NUM_PRODUCT_EXTRA,
    PRODUCT,
    USER,
    node_text,
    product_numeric,
    product_text,
    relation_name,
    reverse,
)
from graph import GraphStore
from kgrec.errors import ModelError
from kgrec.settings import Settings
from text_encoders import EmbeddingCache, TextEncoder

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

EdgeType = tuple[str, str, str]


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
        settings: data directory (embedding cache) and torch device.

    Raises:
        ModelError: the checkpoint was trained with another text encoder.
    """

    def __init__(self, checkpoint: Checkpoint, encoder: TextEncoder, settings: Settings) -> None:
        if checkpoint.encoder_id != encoder.model_id:
            raise ModelError(
                f"the GNN checkpoint was trained with text encoder {checkpoint.encoder_id!r} "
                f"but {encoder.model_id!r} is loaded; configure that model "
                "(KGREC_TEXT_MODEL) or retrain with `kgrec train`"
            )
        self.checkpoint = checkpoint
        self.encoder = encoder
        self.device = settings.resolve_device()
        self.model = checkpoint.model.to(self.device).eval()
        self.cache = EmbeddingCache.in_data_dir(settings.data_dir)
        self.hops = self.model.config.layers

    @property
    def dim(self) -> int:
        """Width D of the embeddings."""
        text = self.model.in_dims.get(PRODUCT, 0) if self.model.config.text_skip else 0
        return int(self.model.config.hidden_dim) + int(text)

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
        found = store.existing_ids("Product", ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise ModelError(
                f"products {missing[:5]} are not in the graph; upsert them before embedding"
            )
        out = self._embed(store, PRODUCT, ids)
        index = {i: n for n, i in enumerate(ids)}
        rows: np.ndarray = out[[index[i] for i in product_ids]]
        return rows

    def embed_user(self, store: GraphStore, user_id: str) -> np.ndarray:
        """float32 [D] GNN embedding of a user from its interactions in the graph now.

        A user absent from the graph, or without interactions, gets the embedding
        of a user with no history (the same for every such user).
        """
        vector: np.ndarray = self._embed(store, USER, [user_id])[0]
        return vector

    @torch.no_grad()
    def _embed(self, store: GraphStore, node_type: str, ids: list[str]) -> np.ndarray:
        label = LABEL_OF_NODE_TYPE[node_type]
        nodes: dict[str, list[str]] = {t: [] for t in NODE_TYPE_OF_LABEL.values()}
        nodes[node_type] = list(ids)
        rels = store.neighbourhood(label, ids, hops=self.hops) if self.hops else pd.DataFrame()
        edges = self._edges(rels, nodes)
        index = {t: {i: n for n, i in enumerate(v)} for t, v in nodes.items()}
        x = self._features(store, nodes)
        edge_index: dict[EdgeType, Tensor] = {}
        for et, pairs in edges.items():
            src = [index[et[0]][s] for s, _ in pairs]
            dst = [index[et[2]][d] for _, d in pairs]
            ei = torch.tensor([src, dst], dtype=torch.long).reshape(2, -1).to(self.device)
            edge_index[et] = ei
            edge_index[reverse(et)] = ei.flip(0)
        num_nodes = {t: len(v) for t, v in nodes.items()}
        memory = self.checkpoint.memory_rows(nodes[PRODUCT]).to(self.device)
        emb = self.model(x, edge_index, num_nodes, memory)
        rows: Tensor = emb[node_type][: len(ids)]
        return rows.float().cpu().numpy().astype(np.float32, copy=False)

    @staticmethod
    def _edges(rels: pd.DataFrame, nodes: dict[str, list[str]]) -> dict[EdgeType, list[Any]]:
        """Distinct relationships in stored direction, grouped by edge type; fills ``nodes``."""
        seen: set[tuple[str, ...]] = set()
        known = {t: set(v) for t, v in nodes.items()}
        edges: dict[EdgeType, list[Any]] = {}
        for r in rels.itertuples(index=False):
            a_type = NODE_TYPE_OF_LABEL[str(r.src_label)]
            b_type = NODE_TYPE_OF_LABEL[str(r.dst_label)]
            ends = [(a_type, str(r.src)), (b_type, str(r.dst))]
            (s_type, s_id), (d_type, d_id) = ends if r.outgoing else ends[::-1]
            props: dict[str, Any] = dict(r.props) if isinstance(r.props, dict) else {}
            key = (s_type, s_id, str(r.type), d_type, d_id, json.dumps(props, sort_keys=True))
            if key in seen:
                continue
            seen.add(key)
            for t, i in ((s_type, s_id), (d_type, d_id)):
                if i not in known[t]:
                    known[t].add(i)
                    nodes[t].append(i)
            edges.setdefault(edge_type_of(str(r.type), s_type, d_type, props), []).append(
                (s_id, d_id)
            )
        return edges

    def _features(self, store: GraphStore, nodes: dict[str, list[str]]) -> dict[str, Tensor]:
        """Input features per node type, computed as the snapshot export computes them."""
        x: dict[str, Tensor] = {}
        for t, ids in nodes.items():
            if self.model.in_dims.get(t, 0) == 0:  # a checkpoint without user features
                x[t] = torch.zeros((len(ids), 0), device=self.device)
                continue
            props = store.nodes_by_id(LABEL_OF_NODE_TYPE[t], ids) if ids else {}
            rows = [{**props.get(i, {}), "id": i} for i in ids]
            if t == PRODUCT:
                texts = [product_text(p) for p in rows]
            else:
                texts = [node_text(t, p) for p in rows]
            vectors = (
                self.cache.encode(self.encoder, texts)[0]
                if texts
                else np.zeros((0, self.encoder.dim), dtype=np.float32)
            )
            if t == PRODUCT:
                extra = (
                    product_numeric(rows)
                    if rows
                    else np.zeros((0, NUM_PRODUCT_EXTRA), dtype=np.float32)
                )
                vectors = np.concatenate([vectors, extra], axis=1)
            x[t] = torch.from_numpy(np.ascontiguousarray(vectors)).to(self.device)
        return x
