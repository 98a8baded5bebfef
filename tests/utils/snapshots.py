"""Synthetic snapshots of known structure, built in memory (no graph, no encoder)."""

from __future__ import annotations

import torch
from torch_geometric.data import HeteroData

from kgrec.gnn.schema import INTERACTED, PRODUCT, USER, with_reverse
from kgrec.gnn.snapshot import Snapshot


def clustered_snapshot(
    seed: int = 0, users: int = 60, products: int = 40, dim: int = 8
) -> Snapshot:
    """Two taste clusters: users of cluster c interact with products whose text says c."""
    g = torch.Generator().manual_seed(seed)
    cluster_p = torch.arange(products) % 2
    text = torch.nn.functional.normalize(
        torch.randn(products, dim, generator=g) * 0.3 + cluster_p[:, None] * 2 - 1, dim=1
    )
    src, dst = [], []
    for u in range(users):
        mine = (cluster_p == u % 2).nonzero().flatten()
        pick = mine[torch.randperm(len(mine), generator=g)[:12]]
        src += [u] * len(pick)
        dst += pick.tolist()
    data = HeteroData()
    data[PRODUCT].x = torch.cat([text, torch.zeros(products, 2)], dim=1)
    data[PRODUCT].num_nodes = products
    data[USER].x = torch.zeros(users, 0)
    data[USER].num_nodes = users
    ei = torch.tensor([src, dst])
    for edge_type, edge_index in with_reverse({INTERACTED: ei}).items():
        data[edge_type].edge_index = edge_index
    data[INTERACTED].ts = torch.randperm(ei.shape[1], generator=g)
    ids = {PRODUCT: [f"p{i}" for i in range(products)], USER: [f"u{i}" for i in range(users)]}
    return Snapshot(data, ids, "test", "test-encoder")
