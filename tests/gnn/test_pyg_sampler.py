"""PyG's compiled sampler where importable, the plain-torch one otherwise; same subgraphs."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.sampler import HeteroSamplerOutput

from kgrec.errors import ConfigError
from kgrec.gnn.pyg_sampler import (
    PygNeighborSampler,
    build_sampler,
    pyg_sampling_available,
    to_subgraph,
)
from kgrec.gnn.sampler import NeighborSampler
from tests.utils.markers import requires_pyg

UB, BU = ("user", "rated", "product"), ("product", "rev_rated", "user")


def star_graph() -> tuple[dict[tuple[str, str, str], torch.Tensor], dict[str, int]]:
    """Product 0 rated by users 0..9, product 1 by users 10 and 11 (and the reverse)."""
    users = torch.arange(12)
    products = torch.tensor([0] * 10 + [1] * 2)
    ub = torch.stack([users, products])
    return {UB: ub, BU: ub.flip(0)}, {"user": 12, "product": 2}


def test_to_subgraph_sorts_ids_and_remaps_edges() -> None:
    # PyG order: seeds first (user 7, product 3), then sampled nodes
    out = HeteroSamplerOutput(
        node={"user": torch.tensor([7, 2, 5]), "product": torch.tensor([3, 1])},
        row={UB: torch.tensor([1, 2]), BU: torch.tensor([1])},
        col={UB: torch.tensor([0, 0]), BU: torch.tensor([0])},
        edge={UB: None, BU: None},
    )
    sub = to_subgraph(out, ["user", "product", "brand"])
    assert sub.nodes["user"].tolist() == [2, 5, 7]
    assert sub.nodes["product"].tolist() == [1, 3]
    assert sub.nodes["brand"].numel() == 0
    # (user 2 -> product 3), (user 5 -> product 3); (product 1 -> user 7)
    ub = sub.edge_index[UB]
    users, products = sub.nodes["user"][ub[0]], sub.nodes["product"][ub[1]]
    assert list(zip(users.tolist(), products.tolist(), strict=True)) == [(2, 3), (5, 3)]
    bu = sub.edge_index[BU]
    assert (int(sub.nodes["product"][bu[0, 0]]), int(sub.nodes["user"][bu[1, 0]])) == (1, 7)
    assert sub.local("user", torch.tensor([7])).tolist() == [2]


def test_auto_picks_pyg_only_where_it_can_run() -> None:
    edges, counts = star_graph()
    sampler = build_sampler(edges, counts, 4, 1)
    expected = PygNeighborSampler if pyg_sampling_available() else NeighborSampler
    assert type(sampler) is expected
    assert type(build_sampler(edges, counts, 4, 1, backend="torch")) is NeighborSampler


def test_unknown_backend_lists_the_valid_ones() -> None:
    edges, counts = star_graph()
    with pytest.raises(ConfigError, match="'auto', 'torch', 'pyg'"):
        build_sampler(edges, counts, 4, 1, backend="dgl")  # type: ignore[arg-type]


@pytest.mark.skipif(pyg_sampling_available(), reason="pyg-lib or torch-sparse is installed")
def test_pyg_without_its_kernels_says_what_to_install() -> None:
    edges, counts = star_graph()
    with pytest.raises(ConfigError, match=r"torch-sparse.*KGREC_GNN__SAMPLER=torch"):
        build_sampler(edges, counts, 4, 1, backend="pyg")


@requires_pyg
def test_pyg_sampler_keeps_at_most_fanout_real_neighbours() -> None:
    edges, counts = star_graph()
    sampler = build_sampler(edges, counts, 4, 1, backend="pyg")
    sub = sampler.sample({"user": torch.tensor([0]), "product": torch.tensor([0, 1])})
    rated, back = sub.edge_index[UB], sub.edge_index.get(BU)
    per_product = torch.bincount(rated[1], minlength=len(sub.nodes["product"]))
    assert per_product.tolist() == [4, 2]
    src = sub.nodes["user"][rated[0]]
    dst = sub.nodes["product"][rated[1]]
    real = set(zip(edges[UB][0].tolist(), edges[UB][1].tolist(), strict=True))
    assert set(zip(src.tolist(), dst.tolist(), strict=True)) <= real
    assert {10, 11} <= set(src.tolist())
    # user 0's one in-neighbour along the reverse edges
    assert back is not None and sub.nodes["product"][back[0]].tolist() == [0]


@requires_pyg
@pytest.mark.parametrize(
    "seeds",
    [
        {"product": torch.tensor([1, 1])},
        {"product": torch.tensor([1]), "user": torch.tensor([3])},
    ],
    ids=["one type", "destination type first"],
)
def test_pyg_sampler_takes_the_seeds_the_torch_one_takes(seeds: dict[str, torch.Tensor]) -> None:
    edges, counts = star_graph()
    for backend in ("torch", "pyg"):
        sub = build_sampler(edges, counts, 4, 1, backend=backend).sample(seeds)
        for node_type, ids in seeds.items():
            assert torch.isin(ids, sub.nodes[node_type]).all(), backend
        # product 1's two raters, both sampled (fan-out 4 > degree 2)
        rated = sub.edge_index[UB]
        raters = sub.nodes["user"][rated[0][sub.nodes["product"][rated[1]] == 1]]
        assert sorted(raters.tolist()) == [10, 11], backend
