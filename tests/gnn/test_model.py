"""The model's building blocks give PyG's numbers, and the model its numbers of before."""

from __future__ import annotations

import typing
from dataclasses import replace

import torch
from torch import Tensor
from torch_geometric.data import HeteroData
from torch_geometric.transforms import ToUndirected
from torch_geometric.typing import EdgeType as PygEdgeType
from torch_geometric.utils import degree, scatter

from kgrec.gnn.config import GNNConfig
from kgrec.gnn.inference import embed_all, graph_inputs
from kgrec.gnn.model import HeteroGNN, mean_by_destination
from kgrec.gnn.schema import BRAND, CATEGORY, INTERACTED, PRODUCT, USER, EdgeType, with_reverse
from kgrec.gnn.snapshot import Snapshot

HAS_BRAND: EdgeType = (PRODUCT, "has_brand", BRAND)
SUBCATEGORY_OF: EdgeType = (CATEGORY, "subcategory_of", CATEGORY)

# HeteroGNN's outputs on tiny_graph() with the seeds below, computed with the model
# as it was before it took its edge type from gnn.schema (commit 69e7d00).
EXPECTED_PRODUCT = [
    [-0.262741, -0.813978, 0.865845, -0.628863, -0.643676, -0.139966, -0.242353, 0.334495],
    [1.236692, 1.027378, 0.076614, -0.623914, -0.136956, 0.743438, 0.187803, -0.063275],
    [1.235208, 1.256373, -0.100046, 0.527248, 0.097166, 0.507419, 0.579355, 0.345604],
    [1.187005, 0.831420, 0.206503, -0.314681, 0.347560, 0.469596, 0.747834, 0.020043],
]
EXPECTED_USER = [
    [-0.806650, -0.323105, -0.108507, -0.774035, -0.482318, 0.372858, -0.033704, 0.167574],
    [-0.806572, -0.322478, -0.106641, -0.623914, -0.136956, 0.743438, 0.187803, -0.063275],
    [-0.805140, -0.314870, -0.083643, 0.120873, 0.252887, 0.555566, 0.754688, 0.207920],
]


def tiny_graph() -> tuple[dict[str, Tensor], dict[EdgeType, Tensor], dict[str, int]]:
    """4 products (5 features), 2 brands (3), 3 users (none); interactions and brands."""
    g = torch.Generator().manual_seed(0)
    x = {
        PRODUCT: torch.randn(4, 5, generator=g),
        BRAND: torch.randn(2, 3, generator=g),
        USER: torch.zeros(3, 0),
    }
    inter = torch.tensor([[0, 0, 1, 2, 2], [0, 1, 1, 2, 3]])
    brand = torch.tensor([[0, 1, 2, 3], [0, 0, 1, 1]])
    return x, with_reverse({INTERACTED: inter, HAS_BRAND: brand}), {PRODUCT: 4, BRAND: 2, USER: 3}


def tiny_model(x: dict[str, Tensor], edge_types: list[EdgeType]) -> HeteroGNN:
    """The seeded model of EXPECTED_*: memory in the input, degree weights a fixed ramp."""
    torch.manual_seed(0)
    cfg = GNNConfig(hidden_dim=3, layers=2, dropout=0.0, memory_output=False, degree_bias=False)
    model = HeteroGNN(cfg, {t: v.shape[1] for t, v in x.items()}, edge_types, memory_size=2)
    with torch.no_grad():
        for i, p in enumerate(model.degrees):
            p.copy_(torch.linspace(-1, 1, p.numel()).reshape(p.shape) * (i + 1))
    return model.eval()


def test_the_edge_type_is_pygs() -> None:
    assert typing.get_origin(PygEdgeType) is typing.get_origin(EdgeType) is tuple
    assert typing.get_args(PygEdgeType) == typing.get_args(EdgeType) == (str, str, str)


def test_mean_by_destination_is_pyg_scatter_mean_and_degree() -> None:
    g = torch.Generator().manual_seed(1)
    n_src, n_dst, hidden = 50, 40, 8
    h_src = torch.randn(n_src, hidden, generator=g)
    edge_index = torch.stack(
        [torch.randint(0, n_src, (300,), generator=g), torch.randint(0, 30, (300,), generator=g)]
    )  # destinations 30..39 get no edge
    dst, mean, log_deg = mean_by_destination(h_src, edge_index)
    full_mean = scatter(h_src[edge_index[0]], edge_index[1], 0, n_dst, reduce="mean")
    full_degree = degree(edge_index[1], n_dst)
    assert dst.tolist() == torch.nonzero(full_degree).flatten().tolist()
    assert torch.allclose(mean, full_mean[dst], rtol=1e-6, atol=1e-7)
    assert torch.equal(log_deg, torch.log1p(full_degree[dst])[:, None])
    # the rows left out are the ones scatter leaves at zero (W_e has no bias)
    assert not full_mean[30:].any() and not full_degree[30:].any()


def test_the_model_gives_its_numbers_of_before() -> None:
    x, edges, nodes = tiny_graph()
    model = tiny_model(x, list(edges))
    with torch.no_grad():
        out = model(x, edges, nodes, torch.tensor([1, 0, 2, 0]))
    assert torch.allclose(out[PRODUCT], torch.tensor(EXPECTED_PRODUCT), atol=2e-6)
    assert torch.allclose(out[USER], torch.tensor(EXPECTED_USER), atol=2e-6)


def test_with_reverse_adds_what_pyg_to_undirected_adds() -> None:
    g = torch.Generator().manual_seed(2)
    forward = {
        INTERACTED: torch.randint(0, 5, (2, 9), generator=g),
        HAS_BRAND: torch.randint(0, 5, (2, 6), generator=g),
        SUBCATEGORY_OF: torch.randint(0, 5, (2, 4), generator=g),  # same node type both ends
    }
    data = HeteroData()
    for edge_type, edge_index in forward.items():
        data[edge_type].edge_index = edge_index
    pyg = ToUndirected(merge=False)(data).edge_index_dict
    ours = with_reverse(forward)
    assert set(ours) == set(pyg)
    assert all(torch.equal(ours[e], pyg[e]) for e in ours)
    # each reverse right after its forward type (the model's parameter order)
    assert list(ours)[:2] == [INTERACTED, (PRODUCT, "rev_interacted", USER)]


def test_graph_inputs_is_the_snapshot_heterodata_with_the_given_interactions() -> None:
    x, edges, nodes = tiny_graph()
    data = HeteroData()
    for t, n in nodes.items():
        data[t].num_nodes, data[t].x = n, x[t]
    for e, ei in edges.items():
        data[e].edge_index = ei
    data[INTERACTED].ts = torch.arange(5)
    snapshot = Snapshot(
        data, {t: [f"{t}{i}" for i in range(n)] for t, n in nodes.items()}, "v", "e"
    )
    kept = torch.tensor([[0, 1, 2], [0, 1, 3]])
    memory = torch.tensor([1, 0, 2, 0])
    graph = graph_inputs(snapshot, kept, memory)
    assert list(graph.edge_index_dict) == list(edges)  # same types, same order
    assert torch.equal(graph[INTERACTED].edge_index, kept)
    assert torch.equal(graph[PRODUCT, "rev_interacted", USER].edge_index, kept.flip(0))
    assert torch.equal(graph[HAS_BRAND].edge_index, edges[HAS_BRAND])
    assert "ts" not in graph[INTERACTED]
    # the snapshot is left as it was
    assert torch.equal(data[INTERACTED].edge_index, edges[INTERACTED])
    assert "ts" in data[INTERACTED] and "memory_rows" not in data[PRODUCT]
    model = tiny_model(x, list(edges))
    with torch.no_grad():
        direct = model(x, {**edges, **with_reverse({INTERACTED: kept})}, nodes, memory)
    out = embed_all(model, graph)
    assert all(torch.equal(out[t], direct[t]) for t in (PRODUCT, USER))
    # and on the full interactions, the numbers of before
    full = embed_all(model, graph_inputs(snapshot, edges[INTERACTED], memory))
    assert torch.allclose(full[PRODUCT], torch.tensor(EXPECTED_PRODUCT), atol=2e-6)


def test_a_model_without_text_skip_embeds_in_the_hidden_width() -> None:
    x, edges, nodes = tiny_graph()
    model = tiny_model(x, list(edges))
    model.config = replace(model.config, text_skip=False)
    with torch.no_grad():
        out = model(x, edges, nodes)
    assert out[PRODUCT].shape == (4, 3) and out[USER].shape == (3, 3)


def test_the_memory_channel_and_the_popularity_column() -> None:
    """Memory forms its own channel (users: the mean of theirs); popularity a last column."""
    x, edges, nodes = tiny_graph()
    torch.manual_seed(0)
    cfg = GNNConfig(
        hidden_dim=3, dropout=0.0, product_memory=True, memory_output=True, degree_bias=True
    )
    model = HeteroGNN(cfg, {t: v.shape[1] for t, v in x.items()}, list(edges), memory_size=2)
    with torch.no_grad():
        model.degree_weight.fill_(0.5)  # type: ignore[union-attr]
        model.user_trust.copy_(torch.tensor([2.0, -0.5]))  # type: ignore[union-attr]
        out = model.eval()(x, edges, nodes, torch.tensor([1, 0, 2, 0]))
        without = model(x, edges, nodes)
        memory = model.memory.weight  # type: ignore[union-attr]
    content = 3 + 5  # the hidden width and the text channel
    assert out[PRODUCT].shape[1] == out[USER].shape[1] == model.output_dim == content + 3 + 1
    # the content channels do not see the memory, which a new product lacks
    assert torch.equal(out[PRODUCT][:, :content], without[PRODUCT][:, :content])
    assert torch.equal(out[USER][:, :content], without[USER][:, :content])
    assert torch.equal(without[PRODUCT][:, content:-1], torch.zeros(4, 3))
    assert torch.equal(out[PRODUCT][:, content:-1], memory[[1, 0, 2, 0]])
    # users 0, 1, 2 interacted with products (0, 1), (1), (2, 3): rows (1, 0), (0), (2, 0)
    means = torch.stack([memory[1] / 2, torch.zeros(3), memory[2] / 2])
    assert torch.allclose(out[USER][:, content:-1], means)
    count = torch.tensor([1.0, 2.0, 1.0, 1.0])  # interactions per product
    done = torch.tensor([2.0, 1.0, 2.0])  # per user
    assert torch.allclose(out[PRODUCT][:, -1], 0.5 * torch.log1p(count))
    assert torch.allclose(out[USER][:, -1], 2.0 - 0.5 * torch.log1p(done))
