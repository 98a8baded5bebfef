"""The served ranking stored for serving: written at ``kgrec embed``, read by the service.

``kgrec embed`` refits the generators that need interactions on every
interaction, with the settings training picked
(:mod:`~kgrec.gnn.ranking.fitting`), and stores them in the artifact version
beside the trained ranker (:func:`write_ranking`); the service reads them back
as tables (:func:`load_ranking`) and scores through the same
:class:`~kgrec.gnn.ranking.staged.StagedRanking` (:meth:`StoredRanking.bind`).

Layout of ``<artifact version>/ranking/``::

    ranker.txt, ranker.json   the LightGBM ranker and its feature list
    ranker.1.txt, ...         the ensemble's further boosters (RankerConfig.models)
    stages.json               StagedConfig, generator names, factor models
    generators.json           the generators' tuned hyper-parameters
    item_count.npy            int64 [P]   interactions per product
    interactions.npy          int64 [2, E] (user row, product row), the history,
                              oldest first
    item_knn.npz, implicit_item_knn.npz, kg_knn.npz, next_item.npz
                              sparse [P, P] neighbour tables (scipy CSR);
                              recent_item_knn reads item_knn.npz
    als.npz                   ALS product factors [P, F] ("items"; a version an
                              earlier kgrec wrote also holds its users' [U, F])
    peer_popularity.npz       sparse [U', U'] each shopper's most alike shoppers in
                              declared attributes (scipy CSR; row-aligned users:
                              the snapshot's U, then those embed added)
    peer_voters.npy           float32 [U, T] the snapshot's shoppers' declared-
                              attribute vectors: a shopper declaring its own
                              online is weighed against them (``PUT /users``)
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Final

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from kgrec.errors import ArtifactError
from kgrec.gnn.baselines import (
    ImplicitALS,
    ImplicitItemKNN,
    ItemKNN,
    Popularity,
    Recommender,
    TextKNN,
    item_popularity,
)
from kgrec.gnn.baselines.implicit_als import item_gram
from kgrec.gnn.ranking.fitting import (
    GENERATORS_FILE,
    SERVED_GENERATORS,
    GeneratorParams,
    copy_trained,
)
from kgrec.gnn.ranking.kg_knn import KGKNN, product_incidence
from kgrec.gnn.ranking.next_item import transition_matrix
from kgrec.gnn.ranking.peer_popularity import (
    PeerPopularity,
    load_peer_voters,
    load_peer_weights,
    unit_rows,
    with_later_shoppers,
)
from kgrec.gnn.ranking.staged import StagedRanking
from kgrec.gnn.ranking.tables import FactorTable, NeighbourTable, item_arrays, save_items
from kgrec.gnn.snapshot import Snapshot

log = logging.getLogger(__name__)

NEIGHBOUR_GENERATORS: Final = ("item_knn", "implicit_item_knn", "kg_knn", "next_item")
"""Generators served from a stored sparse neighbour table."""
RECENT_TABLE: Final = "item_knn"
"""The table ``recent_item_knn`` reads (recency-weighted; it has no file of its own)."""
RANKING_DIR: Final = "ranking"
ITEM_COUNT_FILE: Final = "item_count.npy"
INTERACTIONS_FILE: Final = "interactions.npy"
ALS_FILE: Final = "als.npz"
PEER_FILE: Final = "peer_popularity.npz"
PEER_VOTERS_FILE: Final = "peer_voters.npy"


def write_ranking(
    trained: Path,
    directory: Path,
    snapshot: Snapshot,
    pairs: Tensor,
    num_users: int,
    num_items: int,
    later_attributes: Tensor | None = None,
) -> Path:
    """Write the serving tables for ``pairs`` [2, E] (every interaction).

    They go beside a copy of the ranker trained in ``trained``. ``later_attributes``
    [M, T]: the declared-attribute vectors of the users the version holds after
    the snapshot's (``kgrec embed``'s additions), whose peers are stored too.
    """
    params = _generator_params(trained)
    copy_trained(trained, directory)
    counts = torch.bincount(pairs[1], minlength=num_items)
    np.save(directory / ITEM_COUNT_FILE, counts.numpy())
    np.save(directory / INTERACTIONS_FILE, pairs.numpy())
    pop = item_popularity(pairs, num_items)
    item_knn = ItemKNN(params.item_knn_neighbours, grid=())
    item_knn.fit(pairs, num_users, num_items)
    NeighbourTable.from_similarity("item_knn", item_knn.sim, pop).save(directory / "item_knn.npz")
    implicit_knn = ImplicitItemKNN(params.implicit_item_knn_neighbours, grid=())
    implicit_knn.fit(pairs, num_users, num_items)
    assert implicit_knn.sim is not None
    NeighbourTable("implicit_item_knn", implicit_knn.sim, pop).save(
        directory / "implicit_item_knn.npz"
    )
    kg = KGKNN(product_incidence(snapshot), params.kg_knn_neighbours)
    NeighbourTable.from_similarity("kg_knn", kg.sim, pop).save(directory / "kg_knn.npz")
    NeighbourTable("next_item", transition_matrix(pairs, num_items), pop).save(
        directory / "next_item.npz"
    )
    als = ImplicitALS(
        params.als_factors, params.als_regularization, params.als_alpha, seed=0, grid=()
    )
    als.fit(pairs, num_users, num_items)
    save_items(directory / ALS_FILE, als.item)
    peer = PeerPopularity.from_snapshot(snapshot, params.peer_neighbours, grid=())
    peer.fit(pairs, num_users, num_items)
    if later_attributes is not None:
        peer.weights = with_later_shoppers(
            peer.weights, peer.attributes, later_attributes, peer.neighbours
        )
    peer.save(directory / PEER_FILE)
    np.save(directory / PEER_VOTERS_FILE, peer.attributes.numpy())
    return directory


@dataclass(frozen=True)
class StoredRanking:
    """The served ranking as read from an artifact version.

    The trained stages and the tables its generators score with (over the
    version's P products and U users).

    Attributes:
        staged: the trained stages (generators bound by :meth:`bind`).
        item_count: int64 [P] interactions per product.
        interactions: int64 [2, E] (user row, product row) pairs.
        neighbours: generator name -> its neighbour table (those of
            :data:`NEIGHBOUR_GENERATORS` the stages use, and ``item_knn``).
        als_items: float32 [P, F] the ALS product factors.
        als_gram: float32 [F, F] their ``item_gram`` (computed once per version).
        als_regularization, als_alpha: the ALS fit's, for solving a shopper's
            factors from its history (:meth:`~kgrec.gnn.baselines.ImplicitALS.from_items`).
        recent_decay: the recency decay ``recent_item_knn`` weighs the history with.
        next_item_decay: the recency decay ``next_item`` weighs the history with.
        peer_weights: CSR [U', U'] ``peer_popularity``'s voters per user (None: the
            ranking was trained without it).
        peer_voters: float32 [U, T] the voters' declared-attribute vectors as
            :func:`~kgrec.gnn.ranking.peer_popularity.unit_rows` (None: a version
            an earlier kgrec wrote; a newcomer then hears every voter alike).
        peer_neighbours: the voters kept per shopper (0 = every shopper).
    """

    staged: StagedRanking
    item_count: Tensor
    interactions: Tensor
    neighbours: dict[str, NeighbourTable]
    als_items: Tensor
    als_gram: np.ndarray
    als_regularization: float
    als_alpha: float
    recent_decay: float
    peer_weights: sp.csr_matrix | None = None
    next_item_decay: float = 0.8
    peer_voters: Tensor | None = None
    peer_neighbours: int = 200

    @cached_property
    def active_users(self) -> Tensor:
        """Bool [U0]: the user rows with at least one interaction (those the GNN trained on).

        Computed once per version (the service binds again after every online write).
        """
        if self.interactions.numel() == 0:
            return torch.zeros(0, dtype=torch.bool)
        return torch.bincount(self.interactions[0]) > 0

    def bind(
        self,
        user_graph: Tensor,
        product_graph: Tensor,
        product_text: Tensor,
        *,
        fresh_share: float | None = None,
        fresh_temperature: float | None = None,
    ) -> StagedRanking:
        """Bind the stages over P' >= P product rows.

        ``product_graph`` [P', D] and ``product_text`` [P', T] hold the version's
        rows then the rows added online (no interactions: fresh); ``user_graph``
        [U, D] holds the version's users.
        """
        rows, stored = product_graph.shape[0], self.item_count.shape[0]
        count = torch.cat([self.item_count, self.item_count.new_zeros(rows - stored)])
        pop = count.float() / count.max().clamp(min=1).float()
        popularity = Popularity()
        popularity.pop = pop
        text = TextKNN(product_text)
        text.pop = pop
        als_items = torch.cat(
            [self.als_items, self.als_items.new_zeros(rows - stored, self.als_items.shape[1])]
        )
        decays = {"next_item": self.next_item_decay}
        tables = {
            n: NeighbourTable(n, t.matrix, pop, decay=decays.get(n, 1.0))
            for n, t in self.neighbours.items()
        }
        recent = self.neighbours[RECENT_TABLE].matrix
        tables["recent_item_knn"] = NeighbourTable(
            "recent_item_knn", recent, pop, decay=self.recent_decay
        )
        generators: dict[str, Recommender] = {
            "gnn": FactorTable("gnn", user_graph, product_graph),
            "popularity": popularity,
            "text_knn": text,
            **tables,
            "als": ImplicitALS.from_items(
                als_items, self.als_regularization, self.als_alpha, pop, self.als_gram
            ),
        }
        if self.peer_weights is not None:
            generators["peer_popularity"] = PeerPopularity.serving(
                self.peer_weights, self.interactions, rows
            )
        # the generators the ranker was trained with (a version trained by an earlier
        # kgrec may lack the newer ones: its ranker never saw their features)
        generators = {g: generators[g] for g in self.staged.generators}
        # the factor models score the version's users with interactions, as the ranker
        # was trained: the evaluation gives them only users with training pairs, so a
        # version user without any interaction (imported, never active) and row U, past
        # them all (a shopper the version lacks), have their features missing
        users = user_graph.shape[0]
        known = torch.zeros(users + 1, dtype=torch.bool)
        active = self.active_users[:users]
        known[: len(active)] = active
        return self.staged.serving(
            generators,
            count,
            known,
            fresh_share=fresh_share,
            fresh_temperature=fresh_temperature,
        )


def load_ranking(version: Path) -> StoredRanking | None:
    """The served ranking stored in artifact version ``version`` (None when it has none).

    Raises:
        ArtifactError: the files are there but unreadable or inconsistent.
        ModelError: the ranker was trained on other generators or features.
    """
    directory = version / RANKING_DIR
    if not directory.is_dir():
        return None
    try:
        item_count = torch.from_numpy(np.load(directory / ITEM_COUNT_FILE)).long()
        interactions = torch.from_numpy(np.load(directory / INTERACTIONS_FILE)).long()
    except (OSError, ValueError) as e:
        raise ArtifactError(f"cannot read the ranking tables under {directory}: {e}") from e
    pop = item_popularity(interactions, len(item_count))
    params = _generator_params(directory)
    als_items = torch.from_numpy(item_arrays(directory / ALS_FILE))
    # the stages take the generators they were trained with among the served ones
    placeholder: dict[str, Any] = {g: Popularity() for g in SERVED_GENERATORS}
    staged = StagedRanking.load(directory, placeholder)
    # a version an earlier kgrec wrote has no table for a generator added since
    wanted: list[str] = [
        n for n in NEIGHBOUR_GENERATORS if n in staged.generators or n == RECENT_TABLE
    ]
    neighbours = {n: NeighbourTable.load(n, directory / f"{n}.npz", pop) for n in wanted}
    peer, voters = None, None
    if "peer_popularity" in staged.generators:
        peer = load_peer_weights(directory / PEER_FILE)
        if (directory / PEER_VOTERS_FILE).is_file():
            voters = unit_rows(load_peer_voters(directory / PEER_VOTERS_FILE))
    return StoredRanking(
        staged,
        item_count,
        interactions,
        neighbours,
        als_items,
        item_gram(als_items),
        params.als_regularization,
        params.als_alpha,
        params.recent_decay,
        peer,
        params.next_item_decay,
        voters,
        params.peer_neighbours,
    )


def _generator_params(directory: Path) -> GeneratorParams:
    """The generators' hyper-parameters saved in ``directory`` (defaults for missing keys).

    Raises:
        ArtifactError: the file is missing, unreadable or holds unknown keys.
    """
    path = directory / GENERATORS_FILE
    try:
        return GeneratorParams(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as e:
        raise ArtifactError(f"cannot read the generators' hyper-parameters {path}: {e}") from e
