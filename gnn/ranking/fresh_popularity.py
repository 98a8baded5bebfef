"""How popular a fresh product is likely to be, from the products it resembles.

A product without interactions has no popularity of its own, but its content
neighbours do: the products sharing its brand, categories and knowledge-graph
entities (KG-kNN's neighbour table) and the products whose text reads like it
(text-kNN's vectors). The summed interaction counts of those neighbours,
weighted by similarity, predict which fresh products many shoppers will take;
the cold path adds them to the order of the fresh slots
(:func:`~kgrec.gnn.ranking.slots.fresh_order_scores`). Measured in docs/ranking-log.md.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from kgrec.errors import ConfigError
from kgrec.gnn.baselines import Recommender, TextKNN
from kgrec.gnn.ranking.kg_knn import KGKNN
from kgrec.gnn.ranking.tables import NeighbourTable

TEXT_NEIGHBOURS = 20
"""Text neighbours whose counts a fresh product sums."""
TEXT_POOL = 4096
"""The most interacted products the text neighbours are drawn from (bounds the cost)."""


def neighbour_popularity(generator: Recommender, count: Tensor, fresh: Tensor) -> Tensor:
    """float32 [P] log1p of the similarity-weighted interaction counts of each product's neighbours.

    Args:
        generator: a content generator: KG-kNN (fitted or its stored table) or text-kNN.
        count: [P] interactions per product row (0 = fresh).
        fresh: [P] bool, the rows to score (others may be left 0).

    Raises:
        ConfigError: ``generator`` has no content neighbours.
    """
    weights = count.float()
    if isinstance(generator, (KGKNN, NeighbourTable)):
        # row i holds what product i votes for: column sums weighted by i's count (the
        # fitted KG-kNN and its stored table through the same sparse product, same bits)
        matrix = generator.votes if isinstance(generator, KGKNN) else generator.matrix
        n = min(matrix.shape[0], len(weights))
        summed = matrix[:n].T @ weights[:n].numpy()
        votes = torch.zeros(len(weights))
        m = min(len(summed), len(weights))
        votes[:m] = torch.from_numpy(np.asarray(summed, np.float32)[:m])
    elif isinstance(generator, TextKNN):
        votes = torch.zeros(len(weights))
        rows = fresh.nonzero().flatten()
        pool = weights.topk(min(TEXT_POOL, int((weights > 0).sum()))).indices
        text = generator.item_text
        for start in range(0, len(rows), 1024):
            batch = rows[start : start + 1024]
            sim = (text[batch] @ text[pool].T).clamp(min=0)
            top = sim.topk(min(TEXT_NEIGHBOURS, len(pool)), dim=1)
            votes[batch] = (top.values * weights[pool][top.indices]).sum(1)
    else:
        raise ConfigError(
            f"generator {getattr(generator, 'name', generator)!r} has no content neighbours; "
            "fresh_popularity takes kg_knn and text_knn"
        )
    return torch.log1p(votes.clamp(min=0)) * fresh.float()
