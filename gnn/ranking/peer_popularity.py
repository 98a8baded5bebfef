"""Peer popularity: what the shoppers most alike in declared attributes chose.

Popularity counts interactions, so a few very active shoppers set it. Here every
shopper's history is one vote, split evenly over its products, and each vote is
weighed by how alike the voter and the scored shopper are in what they declared
(the cosine of their attribute text vectors, the snapshot's user features, e.g.
``age: 24. gender: M. occupation: student``), keeping the ``neighbours`` most alike
voters. It needs no history of the scored shopper, so a shopper who has not
interacted yet gets an order of its own rather than everyone's popularity.

A shopper the weights do not cover hears every voter alike: popularity with one
vote per shopper. That is a stranger (a shopper the service never saw write) or
one alike to everyone. A shopper ``kgrec embed`` added after training (in the
graph, not in the training snapshot) is weighed against the snapshot's voters
like the others (:func:`with_later_shoppers`); so is one the service saw write
after the version was written (``PUT /users/{id}`` with its attributes, or its
first events: the same row, from the voters' attribute vectors the version
stores, :meth:`PeerPopularity.with_newcomer`). One that declared nothing is
weighed by the empty text's vector, as training weighs such shoppers: alike to
the voters who declared nothing too. Neither casts a vote until the next training.
A voter that declares itself anew online is weighed the same way, never as its own
voter (``own`` in :func:`newcomer_weights`); it votes by its former declaration
until the next training. On
MovieLens-100K's cold_user@0 view (3 seeds, Recall@20; a throwaway script, see
docs/ranking-log.md) popularity reached 0.133 / 0.136 / 0.133, one vote per shopper
0.143 / 0.144 / 0.152, and the 200 most alike voters 0.147 / 0.151 / 0.155.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from kgrec.errors import ArtifactError
from kgrec.gnn.baselines.sparse import user_item_csr
from kgrec.gnn.baselines.tuning import Params, as_int, tune
from kgrec.gnn.snapshot import USER, Snapshot

PEER_GRID: Final[tuple[Params, ...]] = tuple({"neighbours": k} for k in (50, 100, 200, 400, 0))
"""Voter counts tried on the validation pairs (0 = every shopper)."""
MAX_EVERY_PEER: Final = 4096
"""Above this many shoppers the grid skips "every shopper" (U x U weights)."""
MAX_LATER_PEERS: Final = max(as_int(p["neighbours"]) for p in PEER_GRID)
"""Voters kept per shopper added after training when every shopper votes (0)."""
TIE_BREAK: Final = 1e-6
"""Weight of one-vote-per-shopper popularity added to every score (orders ties)."""


def has_peers(weights: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """Which user ``rows`` [B] have their own most alike shoppers in ``weights`` (bool [B]).

    False past the weights' rows and for an empty row (alike to everyone): those
    hear every voter alike.
    """
    out: np.ndarray = (rows >= 0) & (rows < weights.shape[0])
    out[out] = np.diff(weights.indptr)[rows[out]] > 0
    return out


def peer_weights(attributes: Tensor, neighbours: int, block: int = 1024) -> sp.csr_matrix:
    """Float32 CSR [U, U]: row u holds u's ``neighbours`` most alike other shoppers.

    Args:
        attributes: [U, T] the shoppers' declared-attribute vectors.
        neighbours: voters kept per shopper (0 or >= U - 1: all others).
        block: shoppers compared at once (memory: ``block`` x U floats).

    Returns:
        Cosine similarities clamped at 0, a shopper never its own voter. A shopper
        alike to everyone (identical attribute vectors: nothing declared, or the
        same for all) gets no row: it hears every voter alike when scored.
    """
    x = unit_rows(attributes)
    num = x.shape[0]
    k = num - 1 if neighbours <= 0 else min(neighbours, num - 1)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for start in range(0, num, block):
        sim = x[start : start + block] @ x.T  # [b, U]
        own = torch.arange(start, start + sim.shape[0])
        sim[torch.arange(sim.shape[0]), own] = float("-inf")  # never its own voter
        parts.append(_most_alike(sim, own, k))
    return _weights(parts, num, num)


def unit_rows(vectors: Tensor) -> Tensor:
    """float32 [N, T] ``vectors`` scaled to length 1 (a zero row stays zero)."""
    return torch.nn.functional.normalize(vectors.float(), dim=1)


def _most_alike(sim: Tensor, rows: Tensor, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, columns, weights) of the ``k`` largest of ``sim`` [b, V] per row.

    -inf marks a voter a row cannot have. A row alike to every voter it can have
    (no spread) keeps none: it hears every voter alike.
    """
    spread = sim.max(1).values - sim.masked_fill(torch.isinf(sim), 2.0).min(1).values
    sim[spread <= 1e-6] = 0.0
    top = sim.topk(k, dim=1)
    return (
        rows[:, None].expand(-1, k).reshape(-1).numpy(),
        top.indices.reshape(-1).numpy(),
        top.values.clamp(min=0.0).reshape(-1).numpy(),
    )


def _weights(
    parts: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], num: int, width: int
) -> sp.csr_matrix:
    """Float32 CSR [num, width] of :func:`_most_alike`'s parts, zero weights dropped."""
    if not parts or not any(len(p[0]) for p in parts):
        return sp.csr_matrix((num, width), dtype=np.float32)
    rows, cols, vals = (np.concatenate([p[i] for p in parts]) for i in range(3))
    out = sp.csr_matrix((vals, (rows, cols)), shape=(num, width), dtype=np.float32)
    out.eliminate_zeros()
    return out


def with_later_shoppers(
    weights: sp.csr_matrix, voters: Tensor, later: Tensor, neighbours: int
) -> sp.csr_matrix:
    """``weights`` [U, U] with rows for ``later`` [M, T] shoppers: CSR [U + M, U + M].

    The later shoppers (``kgrec embed`` added them after training: they cast no
    vote) are weighed against the ``voters`` [U, T] like the others
    (:func:`newcomer_weights`); the rows and columns of ``weights`` stay as they
    were, in the same order.
    """
    u, m = weights.shape[0], later.shape[0]
    if m == 0:
        return weights
    old = weights.tocsr(copy=True)
    old.resize((u, u + m))  # no column of theirs: they vote for nobody
    new = newcomer_weights(later, unit_rows(voters), neighbours, u + m)
    return sp.csr_matrix(sp.vstack([old, new], format="csr"), dtype=np.float32)


def newcomer_weights(
    attributes: Tensor,
    voters: Tensor,
    neighbours: int,
    width: int,
    own: Tensor | None = None,
) -> sp.csr_matrix:
    """CSR [M, ``width``]: the most alike ``voters`` of shoppers who cast no vote.

    For shoppers training did not see, ``attributes`` [M, T]: those ``kgrec embed``
    added (:func:`with_later_shoppers`) and those the service saw write
    (``PUT /users/{id}``, their first events). ``voters`` [V, T] are the voters'
    :func:`unit_rows`; a zero row is no voter (one forgotten in the running
    service). Each shopper's similarities are its own product with the voters in
    NumPy's own loops (``einsum``, no BLAS), so a shopper gets the same row, bit
    for bit, alone or among others and whatever the thread count: BLAS rounds a
    matrix-vector product by how it splits it among threads (30 of 20,001
    similarities differed between one and two threads, a throwaway check), and
    ``kgrec embed``, a request and a restart's restore run under other counts.
    With "every shopper" (``neighbours`` 0) a row
    keeps :data:`MAX_LATER_PEERS` voters (M x V weights grow with every
    newcomer). Columns past V (``width``: the version's other newcomers) hold
    nothing: they vote for nobody. ``own`` (int64 [M], -1 for none) is each
    shopper's own voter row, for a voter weighed again by what it declares now
    (``PUT /users/{id}``): never its own voter, as in :func:`peer_weights`.
    """
    m, v = attributes.shape[0], voters.shape[0]
    k = min(neighbours if neighbours > 0 else MAX_LATER_PEERS, v)
    if m == 0 or k == 0:
        return sp.csr_matrix((m, width), dtype=np.float32)
    sim = voter_similarities(attributes, voters)
    sim[:, ~voters.any(1)] = float("-inf")
    if own is not None:
        mine = (own >= 0) & (own < v)
        sim[mine.nonzero().flatten(), own[mine]] = float("-inf")
    return _weights([_most_alike(sim, torch.arange(m), k)], m, width)


def voter_similarities(attributes: Tensor, voters: Tensor) -> Tensor:
    """float32 [M, V] cosines of ``attributes`` [M, T] with the :func:`unit_rows` ``voters``.

    One product per shopper in NumPy's own loops (``einsum`` without BLAS): the
    same bits alone or in a batch, whatever the thread count.
    """
    pool, x = voters.numpy(), unit_rows(attributes).numpy()
    rows = [np.einsum("vt,t->v", pool, q, optimize=False) for q in x]
    return torch.from_numpy(np.stack(rows) if rows else np.zeros((0, len(pool)), np.float32))


class PeerPopularity:
    """Score = the votes of each shopper's most alike peers (see the module docs).

    Args:
        attributes: [U, T] the shoppers' declared-attribute vectors.
        neighbours: voters kept per shopper (0 = all).
        grid: voter counts tried on validation pairs (empty: keep ``neighbours``).
    """

    name = "peer_popularity"

    def __init__(
        self,
        attributes: Tensor,
        neighbours: int = 200,
        grid: Sequence[Mapping[str, object]] = PEER_GRID,
    ) -> None:
        if neighbours < 0:
            raise ValueError(f"neighbours={neighbours} must be >= 0 (0 = every shopper)")
        self.attributes = attributes.float()
        self.neighbours, self.grid = neighbours, tuple(grid)
        self.weights = sp.csr_matrix((0, 0), dtype=np.float32)
        self.num_items = 0
        self.population: Tensor | None = None
        self._votes: tuple[sp.csr_matrix, np.ndarray] | None = None
        self.newcomer: tuple[int, sp.csr_matrix] | None = None
        self.chosen: Params = {"neighbours": neighbours}
        self.validation: list[tuple[Params, float]] = []

    @classmethod
    def from_snapshot(
        cls,
        snapshot: Snapshot,
        neighbours: int = 200,
        grid: Sequence[Mapping[str, object]] = PEER_GRID,
    ) -> PeerPopularity:
        """Over the snapshot's user features (their declared attributes' text vectors)."""
        return cls(snapshot.data[USER].x, neighbours, grid)

    @classmethod
    def serving(cls, weights: sp.csr_matrix, population: Tensor, num_items: int) -> PeerPopularity:
        """The generator over stored ``weights`` [U', U'], voting with ``population`` [2, E].

        At serving time the voters are the version's interactions, whatever history
        :meth:`scores` is given (the shopper's own); ``num_items`` is P' (rows past
        the voters' products, added online, score only the tie-break 0).
        """
        out = cls(torch.zeros((weights.shape[0], 0)), grid=())
        out.weights = sp.csr_matrix(weights, dtype=np.float32)
        out.population, out.num_items = population, num_items
        return out

    def with_newcomer(self, index: int, weights: sp.csr_matrix) -> PeerPopularity:
        """This generator with user row ``index`` weighed by ``weights`` [1, U'].

        For one request of a shopper the version lacks (``index`` is the row past
        its users, which the stored weights leave to every voter alike): its most
        alike voters from what it declared (:func:`newcomer_weights`). The copy
        shares the stored voters' ballots, computed here once.

        Raises:
            ValueError: ``weights`` is not one row as wide as the stored weights.
        """
        if weights.shape != (1, self.weights.shape[1]):
            raise ValueError(
                f"a newcomer's peer weights must be [1, {self.weights.shape[1]}], "
                f"not {list(weights.shape)}"
            )
        if self.population is not None:
            self._ballots(self.population)
        out = copy.copy(self)
        out.newcomer = (index, sp.csr_matrix(weights, dtype=np.float32))
        return out

    def _with(self, params: Params) -> PeerPopularity:
        return PeerPopularity(self.attributes, as_int(params["neighbours"]), grid=())

    def fit(self, train: Tensor, num_users: int, num_items: int, val: Tensor | None = None) -> None:
        """Keep each shopper's most alike voters; with ``val`` [2, E_val], pick how many."""
        small = len(self.attributes) <= MAX_EVERY_PEER
        grid = [p for p in self.grid if small or 0 < as_int(p["neighbours"]) < MAX_EVERY_PEER]
        if val is not None and val.numel() and grid:
            tuned = tune(self._with, grid, train, num_users, num_items, val)
            best = tuned.best
            self.neighbours, self.weights = best.neighbours, best.weights
            self.num_items, self.validation = num_items, tuned.scores
        else:
            self.weights = peer_weights(self.attributes, self.neighbours)
            self.num_items, self.validation = num_items, []
        self.chosen = {"neighbours": self.neighbours}

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P] peers' votes for each of ``users`` [B] (voters: ``history`` [2, E]).

        Users past the weights' rows, or with an empty row, hear every voter alike;
        the :meth:`with_newcomer` row hears its own voters (every voter alike when
        it holds none, whatever the stored row says).
        """
        votes, flat = self._ballots(history)
        rows = users.numpy()
        known = has_peers(self.weights, rows)
        out = np.tile(flat, (len(rows), 1))  # every voter alike
        if known.any():
            weights = self.weights[rows[known]]
            voted = weights @ votes
            out[known] = np.asarray(voted.toarray(), dtype=np.float32)
        if self.newcomer is not None:
            index, row = self.newcomer
            mine = rows == index
            if mine.any():  # an empty row: alike to every voter
                out[mine] = np.asarray((row @ votes).toarray(), np.float32) if row.nnz else flat
        out += _tie_break(flat)
        return torch.from_numpy(out)

    def base_row(self) -> Tensor | None:
        """[P] a known shopper's scores outside the products its peers chose.

        Their tie-break alone (:mod:`kgrec.gnn.ranking.sparse_rows`); None unless the
        voters are fixed (:meth:`serving`), as they are in the service.
        """
        if self.population is None:
            return None
        return torch.from_numpy(_tie_break(self._ballots(self.population)[1]))

    def _ballots(self, history: Tensor) -> tuple[sp.csr_matrix, np.ndarray]:
        """(votes CSR [U, P]: each voter's products, 1 / its count; their column sum [P]).

        The voters are the users the weights cover (their columns).
        """
        if self.population is not None and self._votes is not None:
            return self._votes
        voters = self.population if self.population is not None else history
        num_voters = self.weights.shape[1]
        voters = voters[:, voters[0] < num_voters]
        r = user_item_csr(voters, num_voters, self.num_items)
        count = np.asarray(r.sum(axis=1)).ravel()
        votes = sp.diags(1.0 / np.maximum(count, 1.0)).astype(np.float32) @ r
        ballots = (sp.csr_matrix(votes), np.asarray(votes.sum(axis=0), np.float32).ravel())
        if self.population is not None:
            self._votes = ballots
        return ballots

    def save(self, path: Path) -> None:
        """Write the weights to ``path`` (.npz)."""
        sp.save_npz(path, self.weights)


def _tie_break(flat: np.ndarray) -> np.ndarray:
    """float32 [P] what breaks ties between peers' votes: every voter's votes ``flat``, scaled."""
    out: np.ndarray = TIE_BREAK * flat / max(float(flat.max(initial=0.0)), 1e-12)
    return out


def load_peer_voters(path: Path) -> Tensor:
    """float32 [V, T] the voters' attribute vectors ``kgrec embed`` saved (``np.save``).

    Raises:
        ArtifactError: the file is unreadable or not a matrix.
    """
    try:
        voters = np.load(path)
    except (OSError, ValueError) as e:
        raise ArtifactError(f"cannot read the peer voters' attributes {path}: {e}") from e
    if voters.ndim != 2:
        raise ArtifactError(f"{path} holds an array of shape {voters.shape}, not [voters, dim]")
    return torch.from_numpy(np.ascontiguousarray(voters, dtype=np.float32))


def load_peer_weights(path: Path) -> sp.csr_matrix:
    """The weights :meth:`PeerPopularity.save` wrote.

    Raises:
        ArtifactError: the file is missing or unreadable.
    """
    try:
        return sp.csr_matrix(sp.load_npz(path), dtype=np.float32)
    except (OSError, KeyError, ValueError) as e:
        raise ArtifactError(f"cannot read peer weights {path}: {e}") from e
