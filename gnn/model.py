"""The heterogeneous GNN: per-type input projections, relational GraphSAGE layers.

One layer updates every node type ``t`` as::

    m_v = W_root[t] h_v + sum over edge types e into t of
          (W_e mean_{u -> v in e} h_u + d_e log(1 + deg_e(v)))
    h_v <- LayerNorm(h_v + relu(m_v))

This is GraphSAGE per edge type summed over edge types (what
``HeteroConv({e: SAGEConv})`` computes) with the root weight shared per node type
instead of per edge type, and with ``W_e`` applied after the mean, on the
destination rows that have an edge of type ``e`` only. ``HeteroConv(SAGEConv)``
multiplies every destination row of every edge type (33k entities x 20 relation
types on MovieLens-100K): 8.5 s per full-graph step on 2 CPU cores, against
well under a second here (docs/gnn.md). The last layer updates only products and
users, the only outputs. The degree term ``d_e`` lets the model see popularity
(a mean alone is blind to how many neighbours there are).
"""

from __future__ import annotations

from typing import Final, cast

import torch
from torch import Tensor, nn

from kgrec.gnn.config import GNNConfig
from kgrec.gnn.schema import INTERACTED, PRODUCT, USER, EdgeType, reverse

OUTPUT_TYPES: tuple[str, str] = (PRODUCT, USER)
MEMORY_WEIGHT: Final = "memory.weight"
"""The state-dict key of the product memory table [M + 1, H] (row 0 = no memory)."""
MEMORY_INIT_STD: Final = 0.1
"""Standard deviation of a fresh memory row."""


def edge_key(edge_type: EdgeType) -> str:
    """A module-dict key for an edge type (``user__interacted__product``).

    ``torch_geometric.nn.ModuleDict`` takes the tuple itself, but importing PyG
    loads ``transformers`` (see :data:`kgrec.gnn.schema.EdgeType`), and its keys would
    rename every weight of the checkpoints already saved.
    """
    return "__".join(edge_type)


def mean_by_destination(h_src: Tensor, edge_index: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Mean of source rows per destination that has at least one edge.

    Args:
        h_src: [N_src, H] source states.
        edge_index: [2, E] (source, destination) local indices.

    Returns:
        (dst [M] distinct destinations, mean [M, H], log1p(in-degree) [M, 1]).

    The mean and the degree are ``torch_geometric.utils.scatter(..., reduce="mean")``
    and ``degree`` over the compacted destinations, written with the two torch ops
    they run (``index_add_`` and ``bincount``) so that the model loads without PyG
    (see :data:`kgrec.gnn.schema.EdgeType`); tests/gnn/test_model.py checks they are equal.
    """
    dst, inverse = torch.unique(edge_index[1], return_inverse=True)
    total = torch.zeros((len(dst), h_src.shape[1]), dtype=h_src.dtype, device=h_src.device)
    total.index_add_(0, inverse, h_src.index_select(0, edge_index[0]))
    count = torch.bincount(inverse, minlength=len(dst)).clamp(min=1).to(h_src.dtype)
    return dst, total / count[:, None], torch.log1p(count)[:, None]


class HeteroGNN(nn.Module):
    """Relational GraphSAGE over every edge type, with residuals and LayerNorm.

    Users have no per-id parameters: a user starts from the text vector of its
    declared attributes (the same vector for every user without any) and is
    represented by what message passing brings from its products, so a user with
    0, 1 or 1,000 interactions is embedded by the same function.

    Products may also have a learned **memory** vector (``memory_size`` rows, see
    :attr:`GNNConfig.product_memory`), added to their projected features: row 0 is
    the zero vector of every product that had no training interaction (a new
    product), rows 1..M belong to the products trained on. A user, being the mean
    of its products, then carries what those products learned (item-based
    collaborative filtering), while a new product relies on text and neighbours.
    With :attr:`GNNConfig.memory_output` the memory is not added to the features
    but appended to the outputs (users: the mean of their products' rows), and
    with :attr:`GNNConfig.degree_bias` a popularity column follows it
    (:meth:`_with_memory`, :meth:`_with_degree`; :attr:`output_dim` is the width).

    Args:
        config: hyperparameters.
        in_dims: input feature width per node type (0 = no features: learned constant).
        edge_types: the (src, relation, dst) types the model passes messages along.
        memory_size: M, products with a memory row (0 = no memory).
    """

    def __init__(
        self,
        config: GNNConfig,
        in_dims: dict[str, int],
        edge_types: list[EdgeType],
        memory_size: int = 0,
    ):
        super().__init__()
        self.config = config
        self.in_dims = dict(in_dims)
        self.edge_types: list[EdgeType] = [(e[0], e[1], e[2]) for e in edge_types]
        self._known = set(self.edge_types)
        self._position = {e: i for i, e in enumerate(self.edge_types)}
        h = config.hidden_dim
        self.inputs = nn.ModuleDict({t: nn.Linear(d, h) for t, d in in_dims.items() if d > 0})
        self.constants = nn.ParameterDict(
            {t: nn.Parameter(torch.zeros(1, h)) for t, d in in_dims.items() if d == 0}
        )
        self.relations = nn.ModuleList(
            nn.ModuleDict({edge_key(e): nn.Linear(h, h, bias=False) for e in self.edge_types})
            for _ in range(config.layers)
        )
        self.degrees = nn.ParameterList(
            nn.Parameter(torch.zeros(len(self.edge_types), h)) for _ in range(config.layers)
        )
        self.roots = nn.ModuleList(
            nn.ModuleDict({t: nn.Linear(h, h) for t in in_dims}) for _ in range(config.layers)
        )
        self.norms = nn.ModuleList(
            nn.ModuleDict({t: nn.LayerNorm(h) for t in in_dims}) for _ in range(config.layers)
        )
        self.out = nn.ModuleDict({t: nn.Linear(h, h) for t in OUTPUT_TYPES})
        self.text_scale = nn.Parameter(torch.tensor(1.0))
        self.memory = nn.Embedding(memory_size + 1, h, padding_idx=0) if memory_size > 0 else None
        self.degree_weight = nn.Parameter(torch.zeros(1)) if config.degree_bias else None
        # how much a user's score follows popularity, by how many products it has
        self.user_trust = nn.Parameter(torch.tensor([1.0, 0.0])) if config.degree_bias else None
        if self.memory is not None:
            nn.init.normal_(self.memory.weight, std=MEMORY_INIT_STD)
            with torch.no_grad():
                self.memory.weight[0].zero_()

    def forward(
        self,
        x_dict: dict[str, Tensor],
        edge_index_dict: dict[EdgeType, Tensor],
        num_nodes: dict[str, int],
        memory_rows: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """Embed products and users.

        Args:
            x_dict: features per node type, [N_t, F_t] (absent or width 0 for users).
            edge_index_dict: [2, E] per edge type (local indices); unknown types are ignored.
            num_nodes: N_t per node type.
            memory_rows: int64 [N_product] memory row of each product (0 = none);
                None = no product uses its memory.

        Returns:
            ``{"product": [N_product, H], "user": [N_user, H]}``.
        """
        h: dict[str, Tensor] = {}
        for t, n in num_nodes.items():
            if t in self.inputs:
                h[t] = self.inputs[t](x_dict[t])
            elif t in self.constants:
                h[t] = self.constants[t].expand(n, -1)
        memory_output = self.config.memory_output
        if (
            self.memory is not None
            and memory_rows is not None
            and not memory_output
            and (PRODUCT in h)
        ):
            h[PRODUCT] = h[PRODUCT] + self.memory(memory_rows)
        edges = {
            e: ei
            for e, ei in edge_index_dict.items()
            if e in self._known and ei.numel() and e[0] in h and e[2] in h
        }
        layers = len(self.relations)
        for layer in range(layers):
            relations = cast(nn.ModuleDict, self.relations[layer])
            roots = cast(nn.ModuleDict, self.roots[layer])
            norms = cast(nn.ModuleDict, self.norms[layer])
            targets = OUTPUT_TYPES if layer == layers - 1 else tuple(h)
            msgs = {t: roots[t](h[t]) for t in targets if t in h}
            degree = self.degrees[layer]
            for e, ei in edges.items():
                if e[2] not in msgs:
                    continue
                dst, mean, log_deg = mean_by_destination(h[e[0]], ei)
                msg = relations[edge_key(e)](mean) + log_deg * degree[self._position[e]]
                msgs[e[2]] = msgs[e[2]].index_add(0, dst, msg)
            nxt = {}
            for t, m in msgs.items():
                upd = norms[t](h[t] + torch.relu(m))
                nxt[t] = nn.functional.dropout(upd, self.config.dropout, self.training)
            h = nxt
        out = {t: self.out[t](h[t]) for t in OUTPUT_TYPES}
        if self.config.text_skip and PRODUCT in x_dict:
            out[PRODUCT], out[USER] = self._with_text(x_dict[PRODUCT], edges, out)
        if memory_output:
            out[PRODUCT], out[USER] = self._with_memory(memory_rows, edges, out)
        if self.degree_weight is not None:
            out[PRODUCT], out[USER] = self._with_degree(edges, out)
        return out

    @property
    def output_dim(self) -> int:
        """Width D of the product and user outputs."""
        text = self.in_dims.get(PRODUCT, 0) if self.config.text_skip else 0
        memory = self.config.hidden_dim if self.config.memory_output else 0
        return self.config.hidden_dim + text + memory + int(self.config.degree_bias)

    def _with_memory(
        self, memory_rows: Tensor | None, edges: dict[EdgeType, Tensor], out: dict[str, Tensor]
    ) -> tuple[Tensor, Tensor]:
        """Append the memory channel: products their memory vector, users the mean over theirs.

        Its dot product is item-based collaborative filtering (FISM): a product
        without a memory row (row 0: new, or hidden by cold-item dropout) and a user
        without products add 0, so the content channels alone score them.
        """
        product, user = out[PRODUCT], out[USER]
        if self.memory is None or memory_rows is None:
            mp = product.new_zeros((product.shape[0], self.config.hidden_dim))
        else:
            mp = self.memory(memory_rows)
        mu = user.new_zeros((user.shape[0], mp.shape[1]))
        ei = edges.get(reverse(INTERACTED))
        if ei is not None:
            dst, mean, _ = mean_by_destination(mp, ei)
            mu = mu.index_add(0, dst, mean)
        return torch.cat([product, mp], dim=1), torch.cat([user, mu], dim=1)

    def _with_degree(
        self, edges: dict[EdgeType, Tensor], out: dict[str, Tensor]
    ) -> tuple[Tensor, Tensor]:
        """Append a popularity column.

        Products hold ``w log(1 + interactions)``, users ``a + b log(1 + interactions)``,
        so how far a user's ranking follows popularity depends on how much it did.
        """
        product, user = out[PRODUCT], out[USER]
        count = product.new_zeros(product.shape[0])
        done = user.new_zeros(user.shape[0])
        # each node counts the edges into it: a sampled subgraph (mini-batch training, the
        # inductive read) holds those, not the edges out of it
        into_products, into_users = edges.get(INTERACTED), edges.get(reverse(INTERACTED))
        if into_products is not None:
            count = count.index_add(0, into_products[1], product.new_ones(into_products.shape[1]))
        if into_users is not None:
            done = done.index_add(0, into_users[1], user.new_ones(into_users.shape[1]))
        assert self.degree_weight is not None and self.user_trust is not None
        bias = self.degree_weight * torch.log1p(count)
        trust = self.user_trust[0] + self.user_trust[1] * torch.log1p(done)
        return (
            torch.cat([product, bias[:, None]], dim=1),
            torch.cat([user, trust[:, None]], dim=1),
        )

    def _with_text(
        self, x_product: Tensor, edges: dict[EdgeType, Tensor], out: dict[str, Tensor]
    ) -> tuple[Tensor, Tensor]:
        """Append the text channel: products [P, F] input, users the mean over their products.

        The dot product of two outputs is then the GNN score plus
        ``text_scale^2 x cos(user's mean product text, product text)`` (the text-kNN
        signal, which needs no interaction of the product).
        """
        xp = nn.functional.normalize(x_product, dim=1)
        profile = torch.zeros((out[USER].shape[0], xp.shape[1]), dtype=xp.dtype, device=xp.device)
        ei = edges.get(reverse(INTERACTED))
        if ei is not None:
            dst, mean, _ = mean_by_destination(xp, ei)
            profile = profile.index_add(0, dst, mean)
        profile = nn.functional.normalize(profile, dim=1)
        scale = self.text_scale
        return (
            torch.cat([out[PRODUCT], scale * xp], dim=1),
            torch.cat([out[USER], scale * profile], dim=1),
        )
