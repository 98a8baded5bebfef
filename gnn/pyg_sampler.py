"""PyG's neighbour sampler (``pyg-lib`` or ``torch-sparse`` kernels) behind the same interface.

:class:`~kgrec.gnn.sampler.NeighborSampler` is the plain-torch sampler every install has.
Where ``pyg-lib`` or ``torch-sparse`` is importable, PyG's own
:class:`torch_geometric.sampler.NeighborSampler` (what ``NeighborLoader`` and
``LinkNeighborLoader`` run) samples in C++ instead; :func:`build_sampler` picks it
by default. Both return a :class:`~kgrec.gnn.sampler.SampledSubgraph`, so the trainer
does not know which one ran.
"""

from __future__ import annotations

import torch
import torch_geometric.typing
from torch import Tensor
from torch_geometric.data import HeteroData
from torch_geometric.sampler import EdgeSamplerInput, HeteroSamplerOutput, NodeSamplerInput
from torch_geometric.sampler import NeighborSampler as _PygSampler

from kgrec.errors import ConfigError, invalid_choice
from kgrec.gnn.config import SAMPLER_BACKENDS, SamplerBackend
from kgrec.gnn.sampler import NeighborSampler, SampledSubgraph, SubgraphSampler
from kgrec.gnn.schema import EdgeType


def pyg_sampling_available() -> bool:
    """True when PyG has a compiled sampling backend (``pyg-lib`` or ``torch-sparse``)."""
    return bool(torch_geometric.typing.WITH_PYG_LIB or torch_geometric.typing.WITH_TORCH_SPARSE)


def to_subgraph(out: HeteroSamplerOutput, node_types: list[str]) -> SampledSubgraph:
    """Re-index a PyG sampler output so every node type's ids are sorted.

    PyG lists the seeds first and the sampled nodes after them; a
    :class:`SampledSubgraph` keeps ids sorted so ``local`` is a binary search.

    Args:
        out: PyG output; ``node[t]`` global ids [N_t], ``row[e]`` / ``col[e]`` local
            source / destination indices [E_e].
        node_types: every node type (types PyG did not reach get an empty tensor).
    """
    nodes: dict[str, Tensor] = {}
    new_position: dict[str, Tensor] = {}
    for t in node_types:
        ids = out.node.get(t, torch.zeros(0, dtype=torch.long)).long()
        order = torch.argsort(ids)
        nodes[t] = ids[order]
        position = torch.empty_like(order)
        position[order] = torch.arange(len(order))
        new_position[t] = position
    edge_index: dict[EdgeType, Tensor] = {}
    for key, row in out.row.items():
        et: EdgeType = (key[0], key[1], key[2])
        if row.numel():
            col = out.col[key]
            edge_index[et] = torch.stack(
                [new_position[et[0]][row.long()], new_position[et[2]][col.long()]]
            )
    return SampledSubgraph(nodes, edge_index)


class PygNeighborSampler:
    """``layers``-hop sampling with PyG's compiled kernels, ``fanout`` per edge type.

    Seeds of two node types are handed to PyG as (source, destination) pairs of
    an edge type that joins them (PyG samples around both ends); seeds of one
    type as seed nodes. With ``torch-sparse`` but no ``pyg-lib``, PyG warns once
    that this pairing is deprecated in favour of ``pyg-lib``; it still samples
    with the torch-sparse kernels.

    Args:
        edge_index: edge type -> global [2, E] (source, destination).
        num_nodes: node type -> N_t.
        fanout: neighbours per node and edge type per hop.
        layers: hops.

    Raises:
        ConfigError: neither ``pyg-lib`` nor ``torch-sparse`` is importable.
    """

    def __init__(
        self,
        edge_index: dict[EdgeType, Tensor],
        num_nodes: dict[str, int],
        fanout: int,
        layers: int,
    ) -> None:
        if not pyg_sampling_available():
            raise ConfigError(
                "the 'pyg' sampler needs pyg-lib or torch-sparse, and neither is "
                "importable; install one (`pip install torch-sparse` compiles it) or set "
                "KGREC_GNN__SAMPLER=torch"
            )
        data = HeteroData()
        for t, n in num_nodes.items():
            data[t].num_nodes = n
        for et, ei in edge_index.items():
            data[et].edge_index = ei
        self.node_types = list(num_nodes)
        self.edge_types = list(edge_index)
        self._sampler = _PygSampler(data, num_neighbors=[fanout] * layers)

    def _joining(self, a: str, b: str) -> tuple[EdgeType, bool]:
        """An edge type between node types ``a`` and ``b``; True when it runs b -> a."""
        for et in self.edge_types:
            if (et[0], et[2]) == (a, b):
                return et, False
        for et in self.edge_types:
            if (et[0], et[2]) == (b, a):
                return et, True
        raise ConfigError(
            f"no edge type joins {a!r} and {b!r}, so PyG cannot take both as seeds at "
            "once; seed them in two calls or set KGREC_GNN__SAMPLER=torch"
        )

    def sample(self, seeds: dict[str, Tensor]) -> SampledSubgraph:
        """The sampled subgraph around ``seeds``.

        Args:
            seeds: node type -> global ids [S_t] (one or two node types; repeats are fine).

        Returns:
            :class:`SampledSubgraph` holding every seed, sorted ids per node type.

        Raises:
            ConfigError: no seeds, more than two seeded node types, or two types that
                no edge type joins.
        """
        given = [(t, v) for t, v in seeds.items() if len(v)]
        if not given or len(given) > 2:
            raise ConfigError(f"seed one or two node types, got {sorted(seeds)}")
        if len(given) == 1:
            node_type, ids = given[0]
            unique = torch.unique(ids)  # PyG keeps repeated seed nodes as separate rows
            out = self._sampler.sample_from_nodes(
                NodeSamplerInput(None, unique, input_type=node_type)
            )
        else:
            (src_type, src), (dst_type, dst) = given
            et, flipped = self._joining(src_type, dst_type)
            if flipped:
                src, dst = dst, src
            n = max(len(src), len(dst))
            pick = torch.arange(n)  # pair the shorter side cyclically; PyG de-duplicates
            inputs = EdgeSamplerInput(
                input_id=None, row=src[pick % len(src)], col=dst[pick % len(dst)], input_type=et
            )
            out = self._sampler.sample_from_edges(inputs)
        if not isinstance(out, HeteroSamplerOutput):  # pragma: no cover - hetero data in
            raise TypeError(f"expected a HeteroSamplerOutput, got {type(out).__name__}")
        return to_subgraph(out, self.node_types)


def build_sampler(
    edge_index: dict[EdgeType, Tensor],
    num_nodes: dict[str, int],
    fanout: int,
    layers: int,
    generator: torch.Generator | None = None,
    backend: SamplerBackend = "auto",
) -> SubgraphSampler:
    """The neighbour sampler of ``backend``.

    Args:
        edge_index: edge type -> global [2, E].
        num_nodes: node type -> N_t.
        fanout: neighbours per node and edge type per hop.
        layers: hops.
        backend: ``pyg`` (PyG's compiled sampler), ``torch`` (plain torch over
            CSR), or ``auto``: ``pyg`` when :func:`pyg_sampling_available`, else ``torch``.
        generator: seeds the plain-torch sampler (PyG's draws from torch's global
            generator, which the trainer seeds).

    Raises:
        ConfigError: an unknown backend, or ``pyg`` without pyg-lib / torch-sparse.
    """
    if backend not in SAMPLER_BACKENDS:
        raise invalid_choice("sampler", backend, SAMPLER_BACKENDS)
    if backend == "pyg" or (backend == "auto" and pyg_sampling_available()):
        return PygNeighborSampler(edge_index, num_nodes, fanout, layers)
    return NeighborSampler(edge_index, num_nodes, fanout, layers, generator)
