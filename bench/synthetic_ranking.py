"""A learned ranking for a synthetic catalogue, so the serving bench times the ranker path.

``bench/serve.py --ranker-from VERSION`` serves its synthetic catalogue (100k
products by default) with this ranking: the trained ranker of a real artifact
version (its boosters, feature list and stage settings, e.g. MovieLens-100K's
after ``kgrec train`` and ``kgrec embed``) over generated tables of the synthetic
size: Zipf-like interactions (40 per user), ``NEIGHBOURS`` random neighbours per
product in every neighbour table, random ALS product factors, ``PEERS`` random peers per
user. Only the timing means
anything: the tables carry no taste, and the ranker was trained on other data.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from kgrec.gnn.ranking.fitting import copy_trained
from kgrec.gnn.ranking.served import (
    ALS_FILE,
    INTERACTIONS_FILE,
    ITEM_COUNT_FILE,
    NEIGHBOUR_GENERATORS,
    PEER_FILE,
    RANKING_DIR,
)
from kgrec.gnn.ranking.stages_file import STAGES_FILE
from kgrec.gnn.ranking.tables import save_items

PER_USER = 40
NEIGHBOURS = 50
ALS_DIM = 64
PEERS = 200


def synthetic_ranking(
    trained: Path, num_products: int, num_users: int, seed: int = 0
) -> Callable[[Path], None]:
    """A version writer that puts the ranking of ``trained`` over synthetic tables.

    Args:
        trained: an artifact version holding a trained ranking (``ranking/``).
        num_products: P of the synthetic catalogue.
        num_users: U of the synthetic catalogue.
        seed: the tables' random seed.

    Raises:
        SystemExit: ``trained`` holds no ranking.
    """
    source = trained / RANKING_DIR
    if not (source / STAGES_FILE).is_file():
        raise SystemExit(f"{trained} holds no trained ranking (run kgrec train, kgrec embed)")

    def write(version: Path) -> None:
        out = version / RANKING_DIR
        copy_trained(source, out)
        rng = np.random.default_rng(seed)
        weight = 1.0 / np.arange(1, num_products + 1) ** 0.8
        items = rng.permutation(num_products)[
            rng.choice(num_products, size=num_users * PER_USER, p=weight / weight.sum())
        ]
        users = np.repeat(np.arange(num_users), PER_USER)
        np.save(out / INTERACTIONS_FILE, np.stack([users, items]).astype(np.int64))
        np.save(out / ITEM_COUNT_FILE, np.bincount(items, minlength=num_products))
        rows = np.repeat(np.arange(num_products), NEIGHBOURS)
        for name in NEIGHBOUR_GENERATORS:
            cols = rng.integers(0, num_products, size=len(rows))
            data = rng.random(len(rows), dtype=np.float32)
            shape = (num_products, num_products)
            sp.save_npz(out / f"{name}.npz", sp.csr_matrix((data, (rows, cols)), shape=shape))
        gen = torch.Generator().manual_seed(seed)
        save_items(out / ALS_FILE, torch.randn(num_products, ALS_DIM, generator=gen) / ALS_DIM**0.5)
        peers = np.repeat(np.arange(num_users), PEERS)
        peer_cols = rng.integers(0, num_users, size=len(peers))
        peer_data = rng.random(len(peers), dtype=np.float32)
        shape = (num_users, num_users)
        sp.save_npz(out / PEER_FILE, sp.csr_matrix((peer_data, (peers, peer_cols)), shape=shape))

    return write
