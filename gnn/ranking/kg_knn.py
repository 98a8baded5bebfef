"""KG-kNN: products ranked by the knowledge-graph neighbours they share with a history."""

from __future__ import annotations

import torch
from torch import Tensor

from kgrec.gnn.baselines import item_popularity
from kgrec.gnn.baselines.item_knn import keep_top_neighbours, neighbour_votes
from kgrec.gnn.baselines.sparse import history_votes
from kgrec.gnn.snapshot import PRODUCT, Snapshot


def product_incidence(snapshot: Snapshot) -> Tensor:
    """float32 [P, N]: 1 where a product links to a brand, category or entity.

    Columns run over every node type a product points to (``has_brand``,
    ``in_category``, one ``kg_<relation>`` per relation); one column per
    (relation, target node), so the same person as director and as actor counts twice.
    """
    num_products = int(snapshot.data[PRODUCT].num_nodes)
    blocks: list[Tensor] = []
    for edge_type in sorted(snapshot.data.edge_types):
        src, rel, dst = edge_type
        if src != PRODUCT or dst == PRODUCT or rel.startswith("rev_") or dst == "user":
            continue
        ei: Tensor = snapshot.data[edge_type].edge_index
        block = torch.zeros((num_products, int(snapshot.data[dst].num_nodes)))
        block[ei[0], ei[1]] = 1.0
        blocks.append(block[:, block.sum(0) > 0])
    if not blocks:
        return torch.zeros((num_products, 0))
    return torch.cat(blocks, dim=1)


class KGKNN:
    """Score = summed similarity between a product and the user's history in the KG.

    Products are IDF-weighted, L2-normalised incidence rows over their brand,
    categories and entities; similarity is cosine, keeping ``neighbours`` per
    product. It needs no interaction on the candidate, so it reaches products
    nobody has bought yet.

    Args:
        incidence: [P, N] product -> KG node incidence (:func:`product_incidence`).
        neighbours: top-k neighbours kept per product (0 = all).
    """

    name = "kg_knn"

    def __init__(self, incidence: Tensor, neighbours: int = 100) -> None:
        self.neighbours = neighbours
        df = incidence.sum(0).clamp(min=1.0)
        idf = torch.log((1.0 + incidence.shape[0]) / df)
        weighted = torch.nn.functional.normalize(incidence * idf, dim=1)
        sim = weighted @ weighted.T  # [P, P]
        sim.fill_diagonal_(0.0)
        self.sim = keep_top_neighbours(sim, neighbours)
        self.votes = neighbour_votes(self.sim)  # CSR [P, P]: what each product votes for
        self.pop = torch.zeros(0)

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot, neighbours: int = 100) -> KGKNN:
        """Build from the snapshot's product -> brand / category / entity edges."""
        return cls(product_incidence(snapshot), neighbours)

    def fit(self, train: Tensor, num_users: int, num_items: int, val: Tensor | None = None) -> None:
        """Only the popularity fallback for users without history is learnt."""
        self.pop = item_popularity(train, num_items)

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P] summed KG similarity to the products in each user's history."""
        return history_votes(self.votes, self.pop, users, history)
