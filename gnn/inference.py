"""Full inference: the model's inputs from a snapshot and every node's embedding.

Beside the model, apart from training: the checkpoint and the service embed
without importing the trainer (or the exporter, whose module needs the graph
driver and the text encoder; :class:`~gnn.snapshot.Snapshot` is only a type here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from gnn.model import EdgeType, HeteroGNN
from gnn.schema import INTERACTED, reverse

if TYPE_CHECKING:
    from gnn.snapshot import Snapshot


@dataclass
class GraphInputs:
    """What the model passes messages over.

    Attributes:
        x: node type -> features [N_t, F_t].
        edge_index: edge type -> [2, E] (global indices).
        num_nodes: node type -> N_t.
        memory_rows: int64 [N_product] memory row per product (0 = none), or None.
    """

    x: dict[str, Tensor]
    edge_index: dict[EdgeType, Tensor]
    num_nodes: dict[str, int]
    memory_rows: Tensor | None = None

    @property
    def num_edges(self) -> int:
        return sum(int(e.shape[1]) for e in self.edge_index.values())

    def to(self, device: str) -> GraphInputs:
        return GraphInputs(
            {t: v.to(device) for t, v in self.x.items()},
            {e: v.to(device) for e, v in self.edge_index.items()},
            dict(self.num_nodes),
            None if self.memory_rows is None else self.memory_rows.to(device),
        )


def graph_inputs(snapshot: Snapshot, interactions: Tensor) -> GraphInputs:
    """Model inputs of ``snapshot`` with its interaction edges replaced by ``interactions``.

    Args:
        interactions: [2, E] (user, product) pairs the GNN may pass messages over.

    Returns:
        :class:`GraphInputs` (features, every edge type with its reverse, node counts).
    """
    data = snapshot.data
    edges: dict[tuple[str, str, str], Tensor] = {}
    for et in data.edge_types:
        edges[(et[0], et[1], et[2])] = data[et].edge_index
    edges[INTERACTED] = interactions
    edges[reverse(INTERACTED)] = interactions.flip(0)
    x = {t: data[t].x for t in data.node_types if "x" in data[t]}
    return GraphInputs(x, edges, {t: int(data[t].num_nodes) for t in data.node_types})


@torch.no_grad()
def embed_all(model: HeteroGNN, graph: GraphInputs) -> dict[str, Tensor]:
    """Embeddings of every product and user: ``{"product": [P, H], "user": [U, H]}``."""
    model.eval()
    out: dict[str, Tensor] = model(graph.x, graph.edge_index, graph.num_nodes, graph.memory_rows)
    return out
