"""Full inference: the model's inputs from a snapshot and every node's embedding.

Beside the model, apart from training: the checkpoint and the service embed
without importing the trainer (or the exporter, whose module needs the graph
driver and the text encoder; :class:`~kgrec.gnn.snapshot.Snapshot` is only a type here).
The model's inputs are the snapshot's own ``HeteroData`` (a shallow copy with the
interaction edges replaced), fed to it as ``x_dict`` / ``edge_index_dict``; no
``torch_geometric`` import runs here, the snapshot brought the class with it.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from kgrec.gnn.model import HeteroGNN
from kgrec.gnn.schema import INTERACTED, PRODUCT, with_reverse

if TYPE_CHECKING:
    from torch_geometric.data import HeteroData

    from kgrec.gnn.snapshot import Snapshot

MEMORY_ROWS = "memory_rows"
"""The product attribute holding each product's memory row (int64 [N_product], 0 = none)."""


def graph_inputs(
    snapshot: Snapshot, interactions: Tensor, memory_rows: Tensor | None = None
) -> HeteroData:
    """The graph of ``snapshot`` with its interaction edges replaced by ``interactions``.

    A shallow copy of ``snapshot.data``: features and the other edges are shared,
    the snapshot is left as it is, and the edge types keep their order (the
    model's parameters follow it).

    Args:
        snapshot: the exported graph whose features and other edges are used.
        interactions: [2, E] (user, product) pairs the GNN may pass messages over.
        memory_rows: int64 [N_product] memory row per product (0 = none), or None.

    Returns:
        HeteroData: ``x_dict`` (features [N_t, F_t]), ``edge_index_dict`` (every edge
        type with its reverse, [2, E] global indices), ``num_nodes_dict``, and
        ``data["product"].memory_rows`` when given. The interaction edges carry no
        attribute (``ts``, ``weight``, ``kind`` belong to the snapshot's edges).
    """
    data = with_memory_rows(snapshot.data, memory_rows)
    interacted = data[INTERACTED]
    for key in [k for k in interacted if k != "edge_index"]:
        del interacted[key]
    for edge_type, edge_index in with_reverse({INTERACTED: interactions}).items():
        data[edge_type].edge_index = edge_index
    return data


def with_memory_rows(graph: HeteroData, memory_rows: Tensor | None) -> HeteroData:
    """A shallow copy of ``graph`` whose products have ``memory_rows`` (None: none)."""
    out = copy.copy(graph)
    products = out[PRODUCT]
    if MEMORY_ROWS in products:
        del products[MEMORY_ROWS]
    if memory_rows is not None:
        products[MEMORY_ROWS] = memory_rows
    return out


def graph_memory_rows(graph: HeteroData) -> Tensor | None:
    """The products' memory rows of ``graph`` (int64 [N_product]), or None."""
    rows: Tensor | None = graph[PRODUCT].get(MEMORY_ROWS)
    return rows


@torch.no_grad()
def embed_all(model: HeteroGNN, graph: HeteroData) -> dict[str, Tensor]:
    """Embeddings of every product and user: ``{"product": [P, H], "user": [U, H]}``."""
    model.eval()
    out: dict[str, Tensor] = model(
        graph.x_dict, graph.edge_index_dict, graph.num_nodes_dict, graph_memory_rows(graph)
    )
    return out
