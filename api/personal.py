"""PersonalRanking: the learned staged ranking over the served state.

The artifact version's ``ranking/`` directory holds the trained stages and the
tables its candidate generators score with
(:class:`~kgrec.gnn.ranking.served.StoredRanking`); this class binds them to the rows
served now (the version's products, then the products added online, which
have no interactions and so are fresh) and answers one shopper's served order
through :meth:`~kgrec.gnn.ranking.staged.StagedRanking.ranked`: the very code
``kgrec evaluate`` reports as the ``kgrec`` row.

The shopper's history (the version's interactions, plus the events recorded
online, which the engine passes) is read from memory, never from the graph:
it feeds the history-based generators and is left out of the answer.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from kgrec.api.index import IndexOptions
from kgrec.api.retrieval_indexes import RetrievalIndexes
from kgrec.gnn.ranking.peer_popularity import PeerPopularity, newcomer_weights
from kgrec.gnn.ranking.served import RANKING_DIR, StoredRanking, load_ranking
from kgrec.gnn.ranking.slots import shopper_key
from kgrec.gnn.ranking.staged import StagedRanking


def latest_first_seen(history: np.ndarray) -> np.ndarray:
    """int64 ``history`` [H] without repeats, oldest first, each at its latest position."""
    history = np.asarray(history, np.int64)
    _, last_in_reversed = np.unique(history[::-1], return_index=True)
    keep = np.sort(len(history) - 1 - last_in_reversed)
    out: np.ndarray = history[keep]
    return out


def _key(user: torch.Tensor, user_row: int | None, shopper_id: str | None) -> torch.Tensor:
    """The [1] key of one shopper's fresh-order draw: its row, or its id's when it has none.

    Not the unknown-shopper row itself, which moves when ``kgrec embed`` appends users.
    """
    if user_row is not None:
        return user
    return torch.tensor([shopper_key(shopper_id or "")])


class PersonalRanking:
    """The stored ranking of one artifact version and its users' histories.

    Args:
        stored: what :func:`~kgrec.gnn.ranking.served.load_ranking` read.
        fresh_share: share of answer positions kept for fresh products (0 = off).
        fresh_temperature: temperature of each shopper's draw of the fresh order
            (:func:`~kgrec.gnn.ranking.slots.fresh_draw_noise`; 0 = none).
    """

    def __init__(
        self,
        stored: StoredRanking,
        fresh_share: float,
        *,
        fresh_temperature: float,
        retrieval: RetrievalIndexes | None = None,
    ) -> None:
        self.stored = stored
        self.fresh_share = fresh_share
        self.fresh_temperature = fresh_temperature
        self.retrieval = retrieval
        pairs = stored.interactions
        self.num_users = int(pairs[0].max()) + 1 if pairs.numel() else 0  # rows with a history
        order = torch.argsort(pairs[0], stable=True)
        self._items = pairs[1][order].numpy()
        counts = torch.bincount(pairs[0], minlength=self.num_users)
        self._indptr = np.concatenate([[0], np.cumsum(counts.numpy())])

    @classmethod
    def load(
        cls,
        version: Path,
        fresh_share: float,
        *,
        fresh_temperature: float,
        index: IndexOptions | None = None,
    ) -> PersonalRanking | None:
        """The ranking stored in artifact version ``version`` (None when it holds none).

        With ``index``, a catalogue of more warm products than its threshold reads
        the linear generators through the version's retrieval indexes
        (:class:`~kgrec.api.retrieval_indexes.RetrievalIndexes`).
        """
        stored = load_ranking(version)
        if stored is None:
            return None
        retrieval = None if index is None else RetrievalIndexes(version / RANKING_DIR, index)
        return cls(stored, fresh_share, fresh_temperature=fresh_temperature, retrieval=retrieval)

    def history(self, user_row: int | None) -> np.ndarray:
        """The int64 product rows the version's user ``user_row`` interacted with.

        Empty for users ``kgrec embed`` added after training: their events are not
        in the tables.
        """
        if user_row is None or not 0 <= user_row < self.num_users:
            return np.zeros(0, np.int64)
        return self._items[self._indptr[user_row] : self._indptr[user_row + 1]]

    def peer_count(self, user_row: int | None, newcomer: sp.csr_matrix | None = None) -> int:
        """How many shoppers peer popularity weighs as the shopper's most alike (0: none).

        The ``newcomer`` weights computed online when there are some (a shopper
        the version lacks, or one that declared itself anew since:
        :meth:`newcomer_peers`), else the version's row ``user_row``.
        """
        peer = self.stored.peer_weights
        if peer is None:
            return 0
        if newcomer is not None:
            return int(newcomer.nnz)
        if user_row is None:
            return 0
        return int(peer[user_row].nnz) if 0 <= user_row < peer.shape[0] else 0

    def has_peers(self, user_row: int | None, newcomer: sp.csr_matrix | None = None) -> bool:
        """True when peer popularity weighs the shopper's own most alike shoppers."""
        return self.peer_count(user_row, newcomer) > 0

    def newcomer_peers(
        self, attributes: np.ndarray, own: np.ndarray | None = None
    ) -> sp.csr_matrix | None:
        """CSR [n, U'] the voters most alike shoppers weighed online, by what they declared.

        ``attributes`` [n, T] are their declared-attribute vectors, encoded as the
        snapshot encodes users' (:func:`~kgrec.gnn.snapshot.node_vectors`); each
        row is the one ``kgrec embed`` would store for a shopper it adds
        (:func:`~kgrec.gnn.ranking.peer_popularity.newcomer_weights`). ``own``
        (int64 [n], -1 for none) is each shopper's user row when the version holds
        it: a voter is never its own peer. None when the version has no peer
        popularity, or stores no voters' attributes (an earlier kgrec's: the
        shoppers hear every voter alike).

        Raises:
            ValueError: the vectors are not as wide as the voters'.
        """
        peer, voters = self.stored.peer_weights, self.stored.peer_voters
        if peer is None or voters is None:
            return None
        if attributes.ndim != 2 or attributes.shape[1] != voters.shape[1]:
            raise ValueError(
                f"attribute vectors of shape {list(attributes.shape)} for voters of "
                f"{voters.shape[1]} dimensions"
            )
        rows = torch.from_numpy(np.asarray(attributes, np.float32))
        mine = None if own is None else torch.from_numpy(np.asarray(own, np.int64))
        return newcomer_weights(rows, voters, self.stored.peer_neighbours, peer.shape[1], mine)

    def declares_anew(self, user_row: int, attributes: np.ndarray) -> bool:
        """True unless ``attributes`` [T] are what voter ``user_row`` declared in the version.

        The version's voters' vectors are the declarations its peer weights were
        computed from; a shopper past them (added by ``kgrec embed``), or a version
        without them, counts as declaring anew. The same text encodes to vectors
        that agree to float rounding (a cosine within 1e-6 of 1), another to a
        visibly different one.
        """
        voters = self.stored.peer_voters
        if voters is None or not 0 <= user_row < len(voters):
            return True
        stored = voters[user_row].numpy().astype(np.float64)  # a unit row (0: forgotten)
        given = np.asarray(attributes, np.float64)
        norm = float(np.linalg.norm(given))
        return norm == 0.0 or float(stored @ given) / norm < 1.0 - 1e-6

    def without_user(self, user_row: int) -> PersonalRanking:
        """This ranking with user row ``user_row``'s interactions and peers dropped.

        ALS then solves the row from an empty history (popularity); the other
        users keep their rows (:meth:`kgrec.api.engine.Engine.forget_user`).
        """
        pairs = self.stored.interactions
        kept = pairs[:, pairs[0] != user_row]
        peer, voters = self.stored.peer_weights, self.stored.peer_voters
        if peer is not None and 0 <= user_row < peer.shape[0]:
            keep = sp.diags((np.arange(peer.shape[0]) != user_row).astype(np.float32))
            peer = (keep @ peer @ keep).tocsr()  # nobody's peer, no peers of its own
        if voters is not None and 0 <= user_row < len(voters):
            # a zero row is no voter (newcomer_weights); in place: no copy of [U, T]
            voters[user_row] = 0.0
        stored = dataclasses.replace(
            self.stored, interactions=kept, peer_weights=peer, peer_voters=voters
        )
        return PersonalRanking(
            stored,
            self.fresh_share,
            fresh_temperature=self.fresh_temperature,
            retrieval=self.retrieval,  # the products' vectors and indexes stay
        )

    def open_indexes(
        self, user_graph: torch.Tensor, product_graph: torch.Tensor, product_text: torch.Tensor
    ) -> None:
        """Open (or build) the retrieval indexes now, when the catalogue needs them.

        Over the version's rows (as :meth:`bind`); otherwise the first request
        would. Nothing to do below the threshold or without index options.
        """
        if self.retrieval is not None and self.retrieval.needed(self.stored.item_count):
            self.bind(user_graph, product_graph, product_text)

    def bind(
        self, user_graph: torch.Tensor, product_graph: torch.Tensor, product_text: torch.Tensor
    ) -> StagedRanking:
        """Bind the stages over the rows served now.

        ``product_graph`` [P', D] and ``product_text`` [P', T] hold the version's
        rows, then the online ones; ``user_graph`` is [U, D]. With retrieval
        indexes, a catalogue past their threshold reads its linear generators
        through them (opened or built at the first bind).
        """
        staged = self.stored.bind(
            user_graph.cpu(),
            product_graph.cpu(),
            product_text.cpu(),
            fresh_share=self.fresh_share,
            fresh_temperature=self.fresh_temperature,
        )
        return staged if self.retrieval is None else self.retrieval.attach(staged)

    def served(
        self,
        staged: StagedRanking,
        user_row: int | None,
        history: np.ndarray,
        *,
        shopper_id: str | None,
        newcomer: sp.csr_matrix | None = None,
        limit: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The served order for one shopper.

        Product rows [S] best first and their ranker scores [S] (NaN at the fresh
        slots).

        Args:
            staged: the stages bound by :meth:`bind`.
            user_row: the shopper's row in the version (None = not in it).
            history: int64 product rows the shopper interacted with (all of them:
                the version's and the online ones), left out of the answer.
            shopper_id: the shopper's id; a shopper the version lacks draws its
                fresh order from it (:func:`~kgrec.gnn.ranking.slots.shopper_key`),
                so two new shoppers see different fresh products (None: an
                anonymous request, which draws as every other one does).
            newcomer: the shopper's most alike voters computed online
                (:meth:`newcomer_peers`: a shopper the version lacks, or one that
                declared itself anew since); None: the version's row, or every
                voter alike for a shopper the version lacks.
            limit: only the order's first ``limit`` positions (None: all of it).
        """
        user, pairs = self._history_pairs(staged, user_row, history)
        staged = self._for_newcomer(staged, user, newcomer)
        keys = _key(user, user_row, shopper_id)
        ((served, scores),) = staged.ranked(user, pairs, keys=keys, limit=limit)
        return served.numpy(), scores.numpy()

    def served_with_proposers(
        self,
        staged: StagedRanking,
        user_row: int | None,
        history: np.ndarray,
        *,
        shopper_id: str | None,
        newcomer: sp.csr_matrix | None = None,
        limit: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Like :meth:`served`, from the same pass, plus what proposed each row.

        Generator -> bool [S]: the generator proposed the served row (it was in its
        top ``per_generator`` for this shopper); what a reason names
        (:mod:`kgrec.api.reasons`).
        """
        user, pairs = self._history_pairs(staged, user_row, history)
        staged = self._for_newcomer(staged, user, newcomer)
        keys = _key(user, user_row, shopper_id)
        ((served, scores, proposed),) = staged.ranked_with_proposers(
            user, pairs, keys=keys, limit=limit
        )
        return served.numpy(), scores.numpy(), {g: m.numpy() for g, m in proposed.items()}

    @staticmethod
    def _for_newcomer(
        staged: StagedRanking,
        user: torch.Tensor,
        newcomer: sp.csr_matrix | None,
    ) -> StagedRanking:
        """``staged`` with peer popularity weighing ``user`` [1] by ``newcomer``, if any.

        The weights computed online replace the version's row of a shopper it holds.
        """
        peer = staged.generators.get("peer_popularity")
        if newcomer is None or not isinstance(peer, PeerPopularity):
            return staged
        return staged.with_generator("peer_popularity", peer.with_newcomer(int(user[0]), newcomer))

    @staticmethod
    def _history_pairs(
        staged: StagedRanking, user_row: int | None, history: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The user index [1] the stages score and its (user, product) pairs [2, H]."""
        # the row past the bound users (see bind) is the one no factor model knows
        index = len(staged.known_users) - 1 if user_row is None else user_row
        rows = torch.from_numpy(latest_first_seen(history))
        return torch.tensor([index]), torch.stack([torch.full_like(rows, index), rows])
