"""A vectorised neighbour sampler over CSR in plain torch (no pyg-lib / torch-sparse).

For each edge type the incoming neighbours of every destination node are kept in
CSR form (``rowptr`` [N_dst + 1], ``col`` [E] source ids). One hop samples up to
``fanout`` neighbours of every frontier node of every edge type with a few tensor
ops (all of them when the degree is at most ``fanout``); no Python loop runs per
node. The result is a subgraph in local indices that PyG layers take as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from kgrec.gnn.schema import EdgeType


@dataclass
class SampledSubgraph:
    """A sampled subgraph.

    Attributes:
        nodes: node type -> global ids [N_t] (sorted; every type, possibly empty);
            local index = position.
        edge_index: edge type -> local [2, E_t].
    """

    nodes: dict[str, Tensor]
    edge_index: dict[EdgeType, Tensor]

    def local(self, node_type: str, global_ids: Tensor) -> Tensor:
        """Local indices of global ids that are in the subgraph."""
        return torch.searchsorted(self.nodes[node_type], global_ids)


class SubgraphSampler(Protocol):
    """What the mini-batch trainer needs from a sampler (this module's or PyG's)."""

    def sample(self, seeds: dict[str, Tensor]) -> SampledSubgraph:
        """Sample the subgraph around ``seeds`` (node type -> global node ids)."""
        ...


class NeighborSampler:
    """Sample ``layers``-hop neighbourhoods with at most ``fanout`` neighbours per type.

    Args:
        edge_index: edge type -> global [2, E].
        num_nodes: node type -> N_t.
        fanout: neighbours per node and edge type per hop.
        layers: hops.
        generator: torch random generator (seeded by the trainer).
    """

    def __init__(
        self,
        edge_index: dict[EdgeType, Tensor],
        num_nodes: dict[str, int],
        fanout: int,
        layers: int,
        generator: torch.Generator | None = None,
    ) -> None:
        self.fanout, self.layers, self.generator = fanout, layers, generator
        self.node_types = list(num_nodes)
        self.csr: dict[EdgeType, tuple[Tensor, Tensor]] = {}
        for et, ei in edge_index.items():
            dst_count = num_nodes[et[2]]
            order = torch.argsort(ei[1], stable=True)
            counts = torch.bincount(ei[1], minlength=dst_count)
            rowptr = torch.zeros(dst_count + 1, dtype=torch.long)
            rowptr[1:] = torch.cumsum(counts, 0)
            self.csr[et] = (rowptr, ei[0][order])

    def _hop(self, et: EdgeType, dst: Tensor) -> tuple[Tensor, Tensor]:
        """Up to ``fanout`` distinct in-neighbours of every node in ``dst`` [M].

        Without replacement: every edge of the frontier gets a random key, edges
        are ranked by key within their destination (one sort), the lowest
        ``fanout`` ranks are kept. Returns (source ids [S], destination ids [S]).
        """
        rowptr, col = self.csr[et]
        start, deg = rowptr[dst], rowptr[dst + 1] - rowptr[dst]
        owner = torch.repeat_interleave(torch.arange(len(dst)), deg)
        first = torch.cumsum(deg, 0) - deg
        offset = torch.arange(len(owner)) - first[owner]
        if deg.numel() and int(deg.max()) > self.fanout:
            key = torch.rand(len(owner), generator=self.generator, dtype=torch.float64)
            order = torch.argsort(owner.to(torch.float64) + key)
            rank = torch.empty_like(owner)
            rank[order] = torch.arange(len(owner)) - first[owner[order]]
            keep = rank < self.fanout
            owner, offset = owner[keep], offset[keep]
        return col[start[owner] + offset], dst[owner]

    def sample(self, seeds: dict[str, Tensor]) -> SampledSubgraph:
        """The sampled ``layers``-hop subgraph around ``seeds`` (node type -> global ids)."""
        empty = torch.zeros(0, dtype=torch.long)
        nodes = {t: torch.unique(seeds[t]) if t in seeds else empty for t in self.node_types}
        frontier = {t: v for t, v in nodes.items() if len(v)}
        pieces: dict[EdgeType, list[tuple[Tensor, Tensor]]] = {}
        for _ in range(self.layers):
            reached: dict[str, list[Tensor]] = {}
            for et in self.csr:
                if et[2] not in frontier or len(frontier[et[2]]) == 0:
                    continue
                src, dst = self._hop(et, frontier[et[2]])
                pieces.setdefault(et, []).append((src, dst))
                reached.setdefault(et[0], []).append(src)
            frontier = {}
            for t, parts in reached.items():
                new = torch.unique(torch.cat(parts))
                old = nodes[t]
                fresh = new[~torch.isin(new, old)]
                nodes[t] = torch.unique(torch.cat([old, fresh]))
                frontier[t] = fresh
        edge_index: dict[EdgeType, Tensor] = {}
        for et, sampled in pieces.items():
            src = torch.cat([p[0] for p in sampled])
            dst = torch.cat([p[1] for p in sampled])
            pair = torch.unique(torch.stack([src, dst]), dim=1)
            edge_index[et] = torch.stack(
                [
                    torch.searchsorted(nodes[et[0]], pair[0].contiguous()),
                    torch.searchsorted(nodes[et[2]], pair[1].contiguous()),
                ]
            )
        return SampledSubgraph(nodes, edge_index)
