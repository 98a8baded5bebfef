"""Small staged rankings with known structure, for the ranking stages' tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from kgrec.gnn.baselines import ItemKNN, Popularity, Recommender
from kgrec.gnn.ranking import RankerConfig, StagedRanking
from kgrec.gnn.ranking.config import StagedConfig


def taste_clusters(seed: int = 0, first: int = 20) -> tuple[Tensor, Tensor, int, int]:
    """Two taste clusters of 40 users over products 0-9 (the ``first`` users) and 10-19.

    Product 20 is fresh.
    """
    gen = torch.Generator().manual_seed(seed)
    pairs = []
    for u in range(40):
        base = 0 if u < first else 10
        items = base + torch.randperm(10, generator=gen)[:6]
        pairs += [(u, int(i)) for i in items]
    all_pairs = torch.tensor(pairs).T
    val_mask = torch.arange(all_pairs.shape[1]) % 6 == 5
    return all_pairs[:, ~val_mask], all_pairs[:, val_mask], 40, 21


def lopsided_tastes(seed: int = 0) -> tuple[Tensor, Tensor, int, int, Tensor]:
    """:func:`taste_clusters` with 30 users of products 0-9 and 10 of 10-19; user 40 is new.

    Also [21, 8] text vectors in which products 10-20 read alike, apart from 0-9.
    """
    train, val, users, items = taste_clusters(seed, first=30)
    text = torch.randn(items, 8, generator=torch.Generator().manual_seed(seed)) * 0.1
    text[:10, 0] += 1.0
    text[10:, 1] += 1.0
    return train, val, users + 1, items, text


def fitted_staged(
    train: Tensor,
    val: Tensor,
    users: int,
    items: int,
    *,
    extra: Mapping[str, Recommender] | None = None,
    factor_models: Sequence[str] = (),
    **config: Any,
) -> tuple[StagedRanking, dict[str, Recommender]]:
    """The staged ranking over a fitted ItemKNN and popularity (fresh order: ItemKNN).

    ``extra`` generators (fitted here too) follow them; ``config`` sets
    :class:`StagedConfig` fields beside these small-graph defaults.
    """
    generators: dict[str, Recommender] = {
        "item_knn": ItemKNN(),
        "popularity": Popularity(),
        **(extra or {}),
    }
    for model in generators.values():
        model.fit(train, users, items, val)
    defaults: dict[str, Any] = {
        "fresh_generators": ("item_knn",),
        "fresh_popularity": (),
        "fresh_history": (),
        "without_history": "popularity",
        "cold_users": 10,
        "min_cold_history": 3,
        "ranker": RankerConfig(rounds=20, min_data_in_leaf=5),
    }
    staged = StagedRanking(
        generators,
        factor_models=factor_models,
        config=StagedConfig(**{**defaults, **config}),
    )
    staged.fit(train, users, items, val)
    return staged, generators
