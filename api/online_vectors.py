"""The vectors of products and shoppers written online (:mod:`kgrec.api.writes`).

The GNN embedder of the served version when it has one (the inductive pass over
the graph); else a product is the mean of its brand's and categories' products
and a shopper the kind-weighted mean of the products they interacted with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import scipy.sparse as sp
import torch

from kgrec.api.state import ServedState
from kgrec.gnn.snapshot import declared_vectors, product_text
from kgrec.graph import GraphStore
from kgrec.graph.records import ProductRow
from kgrec.text_encoders import EmbeddingCache, TextEncoder
from kgrec.typing import DEFAULT_KIND_WEIGHTS, PRODUCT, USER

_NEIGHBOUR_SAMPLE: Final = 256
"""Products of one brand or category averaged for a product without the GNN embedder."""


def item_vectors(state: ServedState, store: GraphStore, rows: Sequence[ProductRow]) -> np.ndarray:
    """[n, D] graph vectors of new products: the GNN embedder, else neighbour means."""
    if state.embedder is not None:
        return np.asarray(
            state.embedder.embed_new_items(store, [r["id"] for r in rows]), np.float32
        )
    cat = state.catalogue
    rng = np.random.default_rng(0)
    out = np.zeros((len(rows), cat.graph_dim), np.float32)
    for i, r in enumerate(rows):
        groups = [cat.brand_rows.get(r.get("brand_id") or "", np.zeros(0, np.int64))]
        groups += [
            cat.category_rows.get(c, np.zeros(0, np.int64)) for c in r.get("category_ids") or []
        ]
        means = []
        for g in groups:
            g = g[g != cat.row_of.get(r["id"], -1)]
            if len(g):
                pick = (
                    g
                    if len(g) <= _NEIGHBOUR_SAMPLE
                    else rng.choice(g, _NEIGHBOUR_SAMPLE, replace=False)
                )
                means.append(cat.graph[torch.from_numpy(pick)].mean(0).cpu().numpy())
        if means:
            out[i] = np.mean(means, axis=0)
    return out


def user_vectors(
    state: ServedState, store: GraphStore, users: Sequence[str]
) -> dict[str, np.ndarray]:
    """[D] graph vector per user: the GNN embedder (one call), else :func:`_user_vector`."""
    if state.embedder is not None:
        vectors = np.asarray(state.embedder.embed_users(store, users), np.float32)
        return {u: vectors[i] for i, u in enumerate(users)}
    return {u: _user_vector(state, store, u) for u in users}


def newcomer_peers(
    state: ServedState,
    store: GraphStore,
    users: Sequence[str],
    encoder: TextEncoder,
    cache: EmbeddingCache,
    *,
    held: bool,
) -> dict[str, sp.csr_matrix | None]:
    """The most alike voters of ``users`` weighed online, from what they declared.

    Their properties as the graph holds them now, encoded as ``kgrec embed``
    encodes a user it adds (:func:`~kgrec.gnn.snapshot.declared_vectors`), so a
    shopper the version lacks gets the row the next embed stores for it
    (:meth:`kgrec.api.personal.PersonalRanking.newcomer_peers`). With ``held``
    the shoppers the version holds are weighed too: one whose declaration is no
    longer the version's (``PUT /users/{id}`` since) gets a row of its own, never
    its own voter (an empty row when no voter resembles it more than another:
    every voter alike); the others map to None (the version's row). A shopper the
    version lacks whom no voter resembles more than another maps to None (every
    voter alike, as for a stranger). Empty when the version's ranking has no peer
    popularity or no voters' attributes; users absent from the answer keep what
    they had.
    """
    ranking = state.catalogue.ranking
    rows = state.catalogue.user_row
    weighed = [u for u in users if held or u not in rows]
    if ranking is None or ranking.stored.peer_voters is None or not weighed:
        return {}
    vectors = declared_vectors(store, weighed, encoder, cache)
    out: dict[str, sp.csr_matrix | None] = {u: None for u in weighed}
    anew = [
        i
        for i, u in enumerate(weighed)
        if u not in rows or ranking.declares_anew(rows[u], vectors[i])
    ]
    own = np.array([rows.get(weighed[i], -1) for i in anew], np.int64)
    weights = ranking.newcomer_peers(vectors[anew], own) if anew else None
    if weights is not None:
        for j, i in enumerate(anew):
            # an empty row: alike to every voter. The version's row of a shopper it
            # holds is its former declaration's, so only a newcomer maps to None
            held_here = weighed[i] in rows
            out[weighed[i]] = weights[j] if weights[j].nnz or held_here else None
    return out


def _user_vector(state: ServedState, store: GraphStore, user_id: str) -> np.ndarray:
    """[D] graph vector of a user without the GNN embedder: the kind-weighted mean of products."""
    edges = store.neighbourhood(USER, [user_id], hops=1)
    rows, weights = [], []
    for e in edges.to_dict("records"):
        row = state.row(str(e["dst"])) if e["dst_label"] == PRODUCT else None
        if row is not None:
            props = e["props"] or {}
            rows.append(row)
            weights.append(
                float(props.get("weight") or DEFAULT_KIND_WEIGHTS.get(props.get("kind", ""), 1.0))
            )
    if not rows:
        return np.zeros(state.catalogue.graph_dim, np.float32)
    vecs = state.graph_rows(np.asarray(rows, np.int64))
    w = np.asarray(weights, np.float32)
    mean: np.ndarray = (vecs * w[:, None]).sum(0) / w.sum()
    return mean.astype(np.float32)


def online_product_text(row: ProductRow) -> str:
    """The text encoded for a product added online, composed as ``kgrec embed`` composes it."""
    return product_text({**(row.get("attrs") or {}), **row})
