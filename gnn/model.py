"""The heterogeneous GNN: per-type input projections, HeteroConv(SAGEConv) layers."""

from __future__ import annotations

from typing import cast

import torch
from torch import Tensor, nn
from torch_geometric.nn import HeteroConv, SAGEConv

from gnn.config import GNNConfig
from gnn.snapshot import PRODUCT, USER

EdgeType = tuple[str, str, str]


class HeteroGNN(nn.Module):
    """GraphSAGE over every edge type, summed per destination type, with residuals.

    Users have no per-id parameters: every user starts from one learned vector and
    is represented by what message passing brings from its products, so a user with
    0, 1 or 1,000 interactions is embedded by the same function.

    Args:
        config: hyperparameters.
        in_dims: input feature width per node type (0 = no features: learned constant).
        edge_types: the (src, relation, dst) types the model passes messages along.
    """

    def __init__(self, config: GNNConfig, in_dims: dict[str, int], edge_types: list[EdgeType]):
        super().__init__()
        self.config = config
        self.in_dims = dict(in_dims)
        self.edge_types: list[EdgeType] = [(e[0], e[1], e[2]) for e in edge_types]
        self._known = set(self.edge_types)
        h = config.hidden_dim
        self.inputs = nn.ModuleDict({t: nn.Linear(d, h) for t, d in in_dims.items() if d > 0})
        self.constants = nn.ParameterDict(
            {t: nn.Parameter(torch.zeros(1, h)) for t, d in in_dims.items() if d == 0}
        )
        self.convs = nn.ModuleList(
            HeteroConv({e: SAGEConv((h, h), h) for e in self.edge_types}, aggr="sum")
            for _ in range(config.layers)
        )
        self.norms = nn.ModuleList(
            nn.ModuleDict({t: nn.LayerNorm(h) for t in in_dims}) for _ in range(config.layers)
        )
        self.out = nn.ModuleDict({t: nn.Linear(h, h) for t in (PRODUCT, USER)})

    def forward(
        self,
        x_dict: dict[str, Tensor],
        edge_index_dict: dict[EdgeType, Tensor],
        num_nodes: dict[str, int],
    ) -> dict[str, Tensor]:
        """Embed products and users.

        Args:
            x_dict: features per node type, [N_t, F_t] (absent or width 0 for users).
            edge_index_dict: [2, E] per edge type (local indices).
            num_nodes: N_t per node type.

        Returns:
            ``{"product": [N_product, H], "user": [N_user, H]}``.
        """
        h: dict[str, Tensor] = {}
        for t, n in num_nodes.items():
            if t in self.inputs:
                h[t] = self.inputs[t](x_dict[t])
            else:
                h[t] = self.constants[t].expand(n, -1)
        edges = {e: ei for e, ei in edge_index_dict.items() if e in self._known}
        for conv, norm_layers in zip(self.convs, self.norms, strict=True):
            norms = cast(nn.ModuleDict, norm_layers)
            msgs = conv(h, edges) if edges else {}
            nxt = {}
            for t, ht in h.items():
                upd = ht + torch.relu(msgs[t]) if t in msgs else ht
                upd = norms[t](upd)
                nxt[t] = nn.functional.dropout(upd, self.config.dropout, self.training)
            h = nxt
        return {t: self.out[t](h[t]) for t in (PRODUCT, USER)}
