"""The served ranking fitted: its generators, their tuned settings, the ranker.

One list, :data:`SERVED_GENERATORS`, names the candidate generators the served
ranking uses, in feature order. ``kgrec evaluate`` (the ``kgrec`` row) and
``kgrec train`` fit them on the training pairs (:func:`fit_generators`) and
train the ranker on validation pairs (:func:`train_ranking`); ``kgrec train``
saves the ranker with the settings the generators picked (:func:`save_trained`,
:class:`GeneratorParams`), which ``kgrec embed`` copies into the artifact version
(:func:`copy_trained`) and refits the generators with
(:func:`~kgrec.gnn.ranking.served.write_ranking`).
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

import torch
from torch import Tensor

from kgrec.gnn.baselines import (
    ImplicitALS,
    ImplicitItemKNN,
    ItemKNN,
    Popularity,
    Recommender,
    TextKNN,
)
from kgrec.gnn.ranking.config import StagedConfig
from kgrec.gnn.ranking.kg_knn import KGKNN
from kgrec.gnn.ranking.next_item import NextItem
from kgrec.gnn.ranking.peer_popularity import PeerPopularity
from kgrec.gnn.ranking.ranker import COMPILED_DIR, RankerConfig
from kgrec.gnn.ranking.recency import RecentItemKNN
from kgrec.gnn.ranking.staged import StagedRanking
from kgrec.gnn.ranking.stages_file import STAGES_FILE
from kgrec.gnn.snapshot import Snapshot

log = logging.getLogger(__name__)

SERVED_GENERATORS: Final = (
    "gnn",
    "popularity",
    "peer_popularity",
    "text_knn",
    "item_knn",
    "recent_item_knn",
    "next_item",
    "implicit_item_knn",
    "kg_knn",
    "als",
)
"""Candidate generators of the served ranking, in feature order."""
FACTOR_MODELS: Final = ("gnn",)
"""Generators that only score the users they were trained on (ALS solves every
shopper from its history: :class:`~kgrec.gnn.baselines.ImplicitALS`)."""
GENERATORS_FILE: Final = "generators.json"
"""The generators' tuned hyper-parameters (:class:`GeneratorParams`), beside the ranker."""
MIN_RANKER_GROUPS: Final = 20
"""Users with validation pairs needed to train a ranker."""


@dataclass(frozen=True)
class GeneratorParams:
    """Hyper-parameters the generators picked on validation (saved with the ranker)."""

    item_knn_neighbours: int = 100
    implicit_item_knn_neighbours: int = 100
    kg_knn_neighbours: int = 100
    als_factors: int = 64
    als_regularization: float = 10.0
    als_alpha: float = 1.0
    recent_decay: float = 0.9
    peer_neighbours: int = 200
    next_item_decay: float = 0.8

    @classmethod
    def of(cls, generators: Mapping[str, Recommender]) -> GeneratorParams:
        """The values the fitted ``generators`` chose."""
        item_knn, als = generators["item_knn"], generators["als"]
        kg, implicit_knn = generators["kg_knn"], generators["implicit_item_knn"]
        assert isinstance(item_knn, ItemKNN) and isinstance(als, ImplicitALS)
        assert isinstance(kg, KGKNN) and isinstance(implicit_knn, ImplicitItemKNN)
        recent, peer = generators["recent_item_knn"], generators["peer_popularity"]
        assert isinstance(recent, RecentItemKNN) and isinstance(peer, PeerPopularity)
        next_item = generators["next_item"]
        assert isinstance(next_item, NextItem)
        return cls(
            item_knn.neighbours,
            implicit_knn.neighbours,
            kg.neighbours,
            als.factors,
            als.regularization,
            als.alpha,
            recent.decay,
            peer.neighbours,
            next_item.decay,
        )


def staged_over(generators: Mapping[str, Recommender], seed: int = 0) -> StagedRanking:
    """The served :class:`StagedRanking` over ``generators`` (the :data:`SERVED_GENERATORS`)."""
    missing = [g for g in SERVED_GENERATORS if g not in generators]
    if missing:
        raise ValueError(f"generators {missing} are missing; the served ranking needs all of them")
    return StagedRanking(
        {g: generators[g] for g in SERVED_GENERATORS},
        factor_models=FACTOR_MODELS,
        config=StagedConfig(ranker=RankerConfig(seed=seed)),
    )


def fit_generators(
    gnn: Recommender,
    snapshot: Snapshot,
    text: Tensor,
    train: Tensor,
    num_users: int,
    num_items: int,
    val: Tensor,
    seed: int,
) -> dict[str, Recommender]:
    """Fit every served generator on ``train`` [2, E] (tuned on ``val``).

    ``gnn`` is already fitted; ``text`` [P, T] are the products' text vectors.
    """
    item_knn = ItemKNN()
    generators: dict[str, Recommender] = {
        "gnn": gnn,
        "popularity": Popularity(),
        "peer_popularity": PeerPopularity.from_snapshot(snapshot),
        "text_knn": TextKNN(text),
        "item_knn": item_knn,
        "recent_item_knn": RecentItemKNN(item_knn),  # after item_knn: reads its fit
        "next_item": NextItem(),
        "implicit_item_knn": ImplicitItemKNN(),
        "kg_knn": KGKNN.from_snapshot(snapshot),
        "als": ImplicitALS(seed=seed),
    }
    for name, g in generators.items():
        if name != "gnn":
            g.fit(train, num_users, num_items, val)
    return generators


def train_ranking(
    generators: Mapping[str, Recommender],
    train: Tensor,
    val: Tensor,
    num_users: int,
    num_items: int,
    seed: int,
) -> StagedRanking | None:
    """Train the served ranking's ranker on ``val`` [2, E_val].

    Returns:
        The trained ranking; None when the validation pairs are too few to learn
        from (the service then uses the default weights).
    """
    if len(torch.unique(val[0])) < MIN_RANKER_GROUPS:
        log.warning(
            "only %d users have validation interactions (%d needed): no ranker trained; "
            "the service ranks by the default weights",
            len(torch.unique(val[0])),
            MIN_RANKER_GROUPS,
        )
        return None
    staged = staged_over(generators, seed)
    staged.fit(train, num_users, num_items, val)
    return staged


def save_trained(staged: StagedRanking, params: GeneratorParams, directory: Path) -> Path:
    """Save the trained ranker, its stages and the generators' hyper-parameters."""
    staged.save(directory)
    (directory / GENERATORS_FILE).write_text(json.dumps(asdict(params), indent=2))
    return directory


def copy_trained(trained: Path, directory: Path) -> None:
    """Copy the trained ranking (boosters, feature list, stages, params) to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in (GENERATORS_FILE, STAGES_FILE, "ranker.json"):
        shutil.copy2(trained / name, directory / name)
    for path in trained.glob("ranker*.txt"):  # ranker.txt, ranker.1.txt, ...: the boosters
        shutil.copy2(path, directory / path.name)
    compiled = trained / COMPILED_DIR  # their machine code, keyed by model and host CPU
    if compiled.is_dir():
        shutil.copytree(compiled, directory / COMPILED_DIR, dirs_exist_ok=True)
