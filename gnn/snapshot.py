"""Graph -> HeteroData snapshot: node features from text, one edge type per relation.

Node types: ``product``, ``brand``, ``category``, ``user``, ``entity``. Edge types:
``has_brand``, ``in_category``, ``subcategory_of``, ``interacted`` and one per
knowledge-graph relation (``kg_<relation>``), each with a reverse ``rev_<name>``.
Knowledge-graph entities share one node type: their kind is part of their text
feature, and the relation types (which the GNN keeps apart) already separate
directors from actors from studios.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import HeteroData

from kgrec.errors import ArtifactError, ModelError
from kgrec.files import save_atomic
from kgrec.gnn.replace_journal import finish_replacing
from kgrec.gnn.schema import BRAND as BRAND
from kgrec.gnn.schema import CATEGORY as CATEGORY
from kgrec.gnn.schema import ENTITY as ENTITY
from kgrec.gnn.schema import HAS_BRAND, IN_CATEGORY, SUBCATEGORY_OF, EdgeType, with_reverse
from kgrec.gnn.schema import INTERACTED as INTERACTED
from kgrec.gnn.schema import NODE_TYPES as NODE_TYPES
from kgrec.gnn.schema import NUM_PRODUCT_EXTRA as NUM_PRODUCT_EXTRA
from kgrec.gnn.schema import PRODUCT as PRODUCT
from kgrec.gnn.schema import USER as USER
from kgrec.gnn.schema import relation_name as relation_name
from kgrec.gnn.schema import reverse as reverse
from kgrec.gnn.torch_files import load_checked
from kgrec.graph import GraphStore
from kgrec.paths import DataDir
from kgrec.text_encoders import EmbeddingCache, TextEncoder, compose_product_text

log = logging.getLogger(__name__)

_LABELS: Final = {
    PRODUCT: "Product",
    BRAND: "Brand",
    CATEGORY: "Category",
    USER: "User",
    ENTITY: "Entity",
}
_FIXED_EDGES: Final = {
    "HAS_BRAND": HAS_BRAND,
    "IN_CATEGORY": IN_CATEGORY,
    "SUBCATEGORY_OF": SUBCATEGORY_OF,
}


_NOT_TEXT: Final = frozenset(
    {
        "id",
        "title",
        "description",
        "price",
        "currency",
        "in_stock",
        "image_url",
        "content_hash",
        "brand_id",
        "brand_name",
        "category_ids",
    }
)


def _text_attrs(props: Mapping[str, Any], skip: Collection[str]) -> dict[str, Any]:
    """The string and number properties outside ``skip``, sorted by name."""
    return {
        k: props[k]
        for k in sorted(props)
        if k not in skip and isinstance(props[k], str | int | float)
    }


def product_text(props: Mapping[str, Any]) -> str:
    """Build the text a product is encoded from.

    Title, description, then its other string or number properties sorted by name.

    The same function builds the GNN's product features at export, the serving text
    space (``kgrec embed``) and the vectors of products added online, so all three
    agree. Brand and categories reach a product through its edges, not its text.
    """
    attrs = _text_attrs(props, _NOT_TEXT)
    return compose_product_text(props.get("title"), props.get("description"), attrs=attrs)


def product_numeric(props: Iterable[Mapping[str, Any]]) -> np.ndarray:
    """float32 [P, 2]: log1p(price) / 10 and a has-price flag."""
    rows = []
    for p in props:
        price = p.get("price")
        ok = isinstance(price, int | float) and price == price and price >= 0
        rows.append((np.log1p(float(price)) / 10.0 if ok else 0.0, 1.0 if ok else 0.0))  # type: ignore[arg-type]
    return np.asarray(rows, dtype=np.float32).reshape(-1, NUM_PRODUCT_EXTRA)


def node_text(node_type: str, props: Mapping[str, Any]) -> str:
    """The text a brand, category, entity or user node is encoded from.

    A user's text is its declared attributes (``age: 24. gender: M. ...``, sorted by
    name), so a user with no interaction is still told apart by what it declared;
    a user without attributes gets the empty text (one shared vector).
    """
    if node_type == USER:
        return compose_product_text(None, attrs=_text_attrs(props, ("id", "content_hash")))
    name = str(props.get("name") or props.get("id"))
    if node_type == CATEGORY and props.get("path"):
        return f"{props['path']}"
    if node_type == ENTITY and props.get("kind"):
        return f"{props['kind']}: {name}"
    return name


IDENTITY_SCALE: Final = 0.25
"""Weight of an unnamed entity's identity vector beside its kind's text vector.

At 1 (kind and identity alike) the entities of a kind were 0.5 apart in cosine
and the GNN's cold-item Recall@20 among cold candidates fell from 0.31 (the
encoded ``kind: <id>`` texts) to 0.22; at 0.25 it was 0.34 (docs/gnn.md).
"""


def node_vectors(
    node_type: str,
    rows: Sequence[Mapping[str, Any]],
    encoder: TextEncoder,
    cache: EmbeddingCache,
    *,
    show_progress: bool = False,
) -> np.ndarray:
    """float32 [N, T] input features of brand, category, entity or user nodes.

    Nodes are encoded from :func:`node_text`, except entities without a name (the
    MovieLens knowledge graph holds only Freebase ids): their text would carry
    identity and no words, so each gets its kind's text vector plus
    :data:`IDENTITY_SCALE` times a fixed pseudo-random unit vector drawn from a hash
    of its id (:func:`identity_vector`), normalised: distinct per entity, the kind
    shared (cosine about 0.94 within a kind), no encoder pass (33k such texts took
    about 270 s of a fresh MovieLens export on 2 cores).
    """
    if node_type not in NODE_TYPES or node_type == PRODUCT:
        others = [t for t in NODE_TYPES if t != PRODUCT]
        raise ValueError(f"node_vectors encodes {others}, not {node_type!r} (a graph label?)")
    unnamed = [node_type == ENTITY and not r.get("name") for r in rows]
    texts = [
        str(r.get("kind") or "entity") if bare else node_text(node_type, r)
        for r, bare in zip(rows, unnamed, strict=True)
    ]
    named_texts = [t for t, bare in zip(texts, unnamed, strict=True) if not bare]
    kinds = sorted({t for t, bare in zip(texts, unnamed, strict=True) if bare})
    vecs, _ = cache.encode(encoder, named_texts + kinds, show_progress=show_progress)
    vecs = vecs.reshape(-1, encoder.dim)
    kind_vec = {k: vecs[len(named_texts) + i] for i, k in enumerate(kinds)}
    out = np.zeros((len(rows), encoder.dim), dtype=np.float32)
    named = iter(vecs[: len(named_texts)])
    for i, (r, bare) in enumerate(zip(rows, unnamed, strict=True)):
        if bare:
            identity = identity_vector(str(r.get("id")), encoder.dim)
            v = kind_vec[texts[i]] + IDENTITY_SCALE * identity
            out[i] = v / max(float(np.linalg.norm(v)), 1e-9)
        else:
            out[i] = next(named)
    return out


def declared_vectors(
    store: GraphStore, user_ids: Sequence[str], encoder: TextEncoder, cache: EmbeddingCache
) -> np.ndarray:
    """float32 [n, T] the declared-attribute vectors of ``user_ids``, as the graph holds them.

    The snapshot's user features (:func:`node_vectors`) for shoppers it lacks: those
    ``kgrec embed`` adds and those the service sees write.
    """
    props = store.nodes_by_id(_LABELS[USER], list(user_ids))
    return node_vectors(USER, [{**props.get(u, {}), "id": u} for u in user_ids], encoder, cache)


def identity_vector(node_id: str, dim: int) -> np.ndarray:
    """Draw a float32 [dim] unit vector fixed by ``node_id``.

    It is a seeded draw: the same on every machine and run.
    """
    seed = int.from_bytes(hashlib.blake2b(node_id.encode(), digest_size=8).digest(), "little")
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / max(float(np.linalg.norm(v)), 1e-9)


@dataclass
class Snapshot:
    """A versioned HeteroData of the graph with its id maps.

    Attributes:
        data: node features ``data[t].x`` [N_t, F_t] (products: text dim + 2; others,
            users included: text dim), edge indices ``data[e].edge_index`` [2, E];
            interaction edges also carry ``ts`` [E] (int64), ``weight`` [E] and
            ``kind`` [E] (int64 code).
        ids: node type -> list of catalogue ids, position = node index.
        version: content hash of the ids, features, edges and interaction attributes.
        encoder_id: the text encoder the features came from.
        products: product properties (id, title, price, in_stock, ...), row = index.
        exported_at: unix seconds when the export began reading the graph (0: a
            snapshot saved before kgrec recorded it). A write after it may be
            missing; one before it is in.
    """

    data: HeteroData
    ids: dict[str, list[str]]
    version: str
    encoder_id: str
    products: pd.DataFrame = field(default_factory=pd.DataFrame)
    categories: pd.DataFrame = field(default_factory=pd.DataFrame)
    exported_at: float = 0.0

    def index(self, node_type: str) -> dict[str, int]:
        """Map each id of one node type to its node index."""
        return {i: n for n, i in enumerate(self.ids[node_type])}

    def save(self, path: Path) -> Path:
        """Save the snapshot to ``path`` atomically and return ``path``."""
        blob = {
            "data": self.data,
            "ids": self.ids,
            "version": self.version,
            "encoder_id": self.encoder_id,
            "products": self.products,
            "categories": self.categories,
            "exported_at": self.exported_at,
        }
        return save_atomic(path, lambda tmp: torch.save(blob, tmp))

    @classmethod
    def load(cls, path: Path) -> Snapshot:
        """Load a snapshot saved by :meth:`save` (:class:`ModelError` when missing or damaged)."""
        if not path.exists():
            raise ModelError(f"no snapshot at {path}; run `kgrec train` (it exports one)")
        try:
            finish_replacing(path.parent)  # a forget stopped part-way: finished first
        except ArtifactError as e:
            raise ModelError(str(e)) from e
        try:
            blob = load_checked(path)
        except Exception as e:  # a damaged file fails in many ways
            raise ModelError(
                f"cannot read the snapshot {path}: {type(e).__name__}: {e}; the file is "
                "damaged or cut short: delete it and run `kgrec train` (it exports the graph "
                "again)"
            ) from e
        known = {f.name for f in fields(cls)}  # keys a later kgrec added are skipped
        return cls(**{k: v for k, v in blob.items() if k in known})

    @staticmethod
    def default_path(data_dir: Path, version: str) -> Path:
        """Where snapshot ``version`` is saved under ``data_dir``."""
        return DataDir(data_dir).snapshot(version)


def _read_nodes(store: GraphStore, node_type: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for page in store.iter_nodes(_LABELS[node_type]):
        rows.extend({**props, "id": i} for i, props in zip(page["id"], page["props"], strict=True))
    return rows


def export_snapshot(
    store: GraphStore, encoder: TextEncoder, cache: EmbeddingCache, *, show_progress: bool = True
) -> Snapshot:
    """Read the whole graph in pages and build a :class:`Snapshot`.

    Text features are encoded through ``cache``, so a re-export encodes only
    products whose text changed.
    """
    start, exported_at = time.perf_counter(), time.time()
    nodes = {t: _read_nodes(store, t) for t in NODE_TYPES}
    ids = {t: [str(r["id"]) for r in rows] for t, rows in nodes.items()}
    index = {t: {i: n for n, i in enumerate(v)} for t, v in ids.items()}
    data = HeteroData()
    texts = [product_text(p) for p in nodes[PRODUCT]]
    vectors, _ = cache.encode(encoder, texts, show_progress=show_progress)
    data[PRODUCT].x = torch.from_numpy(
        np.concatenate([vectors, product_numeric(nodes[PRODUCT])], axis=1)
    )
    for t in (BRAND, CATEGORY, ENTITY, USER):
        data[t].x = torch.from_numpy(node_vectors(t, nodes[t], encoder, cache))
    for t in NODE_TYPES:
        data[t].num_nodes = len(ids[t])

    digest = hashlib.blake2b(digest_size=8)
    for t in NODE_TYPES:  # features too: the same graph under new text is another snapshot
        digest.update("\n".join(ids[t]).encode() + data[t].x.numpy().tobytes())

    def add(edge_type: EdgeType, src: list[int], dst: list[int]) -> None:
        ei = torch.tensor([src, dst], dtype=torch.long).reshape(2, -1)
        for et, edge_index in with_reverse({edge_type: ei}).items():
            data[et].edge_index = edge_index
        digest.update(repr(edge_type).encode() + ei.numpy().tobytes())

    for rel, edge_type in _FIXED_EDGES.items():
        s_idx, d_idx = index[edge_type[0]], index[edge_type[2]]
        pairs = [
            (s_idx[s], d_idx[d])
            for page in store.iter_edges(rel)
            for s, d in zip(page["src"], page["dst"], strict=True)
        ]
        add(edge_type, [p[0] for p in pairs], [p[1] for p in pairs])

    frames = list(store.iter_edges("INTERACTED"))
    inter = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["src", "dst", "kind", "ts", "weight"])
    )
    inter = inter.sort_values(["ts", "src", "dst"], kind="stable").reset_index(drop=True)
    add(
        INTERACTED,
        inter["src"].map(index[USER]).tolist(),
        inter["dst"].map(index[PRODUCT]).tolist(),
    )
    kinds = sorted(set(inter["kind"]))
    data[INTERACTED].ts = torch.tensor(inter["ts"].astype("int64").to_numpy())
    data[INTERACTED].weight = torch.tensor(inter["weight"].astype("float32").to_numpy())
    data[INTERACTED].kind = torch.tensor([kinds.index(k) for k in inter["kind"]], dtype=torch.long)
    for attr in ("ts", "weight", "kind"):
        digest.update(data[INTERACTED][attr].numpy().tobytes())

    for rel, src_type in (("HAS_ENTITY", PRODUCT), ("RELATED", ENTITY)):
        frames = list(store.iter_edges(rel))
        if not frames:
            continue
        kg = pd.concat(frames, ignore_index=True)
        for relation, group in kg.groupby("relation", sort=True):
            edge_type = (src_type, relation_name(str(relation)), ENTITY)
            add(
                edge_type,
                group["src"].map(index[src_type]).tolist(),
                group["dst"].map(index[ENTITY]).tolist(),
            )

    products = pd.DataFrame(
        {
            "id": ids[PRODUCT],
            "title": [str(p.get("title") or "") for p in nodes[PRODUCT]],
            "price": [p.get("price") for p in nodes[PRODUCT]],
            "in_stock": [p.get("in_stock") for p in nodes[PRODUCT]],
        }
    )
    categories = pd.DataFrame(
        {"id": ids[CATEGORY], "name": [str(c.get("name") or "") for c in nodes[CATEGORY]]}
    )
    snap = Snapshot(
        data, ids, digest.hexdigest(), encoder.model_id, products, categories, exported_at
    )
    if show_progress:
        counts = ", ".join(f"{len(ids[t]):,} {t}" for t in NODE_TYPES)
        edges = sum(int(data[e].edge_index.shape[1]) for e in data.edge_types)
        log.info(
            "snapshot %s: %s; %s edges (%d edge types) in %.1f s",
            snap.version,
            counts,
            f"{edges:,}",
            len(data.edge_types),
            time.perf_counter() - start,
        )
    return snap
