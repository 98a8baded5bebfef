"""Retrieval: a linear generator's best warm products from an ANN index, the rest exact.

The three linear generators (the GNN, ALS, text-kNN: a query vector's inner
product with every product's vector) scanned a [P, D] matrix per request: over
100k products and 384-d text vectors that scan alone took a quarter of a learned
request (docs/ranking-log.md). With a :class:`Retrieval` a request reads:

* the warm products (at least one training interaction) from a faiss index over
  their vectors: the index's best ``cap`` plus the history's length, re-scored
  exactly;
* the fresh products (none: the version's and those added online) exactly, as
  the fresh slots' order reads their scores anyway;
* the view's mean and spread over the unseen products from the warm vectors'
  moments (:class:`WarmMoments`, computed once per version) and the exact scores
  of the fresh and the seen products: the dense view's, up to float rounding;
* the candidates' scores exactly, once they are known (:meth:`RetrievedRows.fill`).

So the ranker reads the dense row's features but where the index misses one of a
row's best warm products (its rank then reads past it; an index returning fewer
than asked, with a small ``nprobe``, shortens the kept ranking, and the products
past it read the cap). With an exact index the view is the dense one
(``tests/gnn/test_retrieval.py``) up to float rounding: BLAS may round a product's
score in the last bit differently over a few rows than over the whole matrix,
so products whose scores tie exactly (identical vectors) can take the other
order, and which rows round so depends on how many the index was asked for, the
batch's longest history among them (the service scores one shopper at a time).
The score row stays [B, P'] and holds NaN where nothing read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor

from kgrec.gnn.baselines.base import Recommender, row_scores
from kgrec.gnn.ranking.features import MIN_SPREAD, GeneratorView
from kgrec.gnn.ranking.ordering import stable_descending, top_ordered

_MOMENT_CHUNK: Final = 8192
"""Vectors the scatter matrix is summed over at a time (bounds its float64 copy)."""


class Searcher(Protocol):
    """An inner-product index over the warm products' vectors (``kgrec.api.index.VectorIndex``)."""

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores [Q, k'], positions int64 [Q, k'], -1 = none found) of the best ``k``."""
        ...


@runtime_checkable
class LinearGenerator(Protocol):
    """A generator whose scores are ``queries @ item_vectors.T`` for the users it scores."""

    @property
    def item_vectors(self) -> Tensor:
        """float32 [P', D] the product vectors."""
        ...

    def linear_queries(self, users: Tensor, history: Tensor) -> tuple[Tensor, Tensor]:
        """(queries [B, D], scored [B] bool: the rows its scores are the inner products)."""
        ...


@dataclass(frozen=True)
class WarmMoments:
    """The first two moments of the warm products' vectors, float64.

    Attributes:
        count: A, the vectors.
        total: [D] their sum.
        scatter: [D, D] the sum of the outer products of the centred vectors: a
            query q's scores over them have the squared deviations ``q @ scatter @ q``.
    """

    count: int
    total: Tensor
    scatter: Tensor

    @classmethod
    def of(cls, vectors: Tensor) -> WarmMoments:
        """The moments of ``vectors`` [A, D] (in chunks: no [A, D] float64 copy)."""
        a, d = vectors.shape
        total = vectors.double().sum(0) if a else torch.zeros(d, dtype=torch.float64)
        centre = total / max(a, 1)
        scatter = torch.zeros((d, d), dtype=torch.float64)
        for start in range(0, a, _MOMENT_CHUNK):
            part = vectors[start : start + _MOMENT_CHUNK].double() - centre
            scatter += part.T @ part
        return cls(a, total, scatter)


class Retrieval:
    """One linear generator's rows from its warm index and exact scores (see the module docs).

    Args:
        items: float32 [P', D] the generator's :attr:`~LinearGenerator.item_vectors`.
        warm: int64 [A] ascending rows; position i of ``index`` holds row ``warm[i]``.
        index: searches ``items[warm]`` by inner product.
        moments: ``WarmMoments.of(items[warm])``.
    """

    def __init__(self, items: Tensor, warm: Tensor, index: Searcher, moments: WarmMoments) -> None:
        if moments.count != len(warm):
            raise ValueError(f"moments of {moments.count} vectors for {len(warm)} warm rows")
        self.items = items.float()
        self.warm = warm.long()
        self.index = index
        self.moments = moments
        self.is_warm = torch.zeros(items.shape[0], dtype=torch.bool)
        self.is_warm[self.warm] = True
        self.fresh = (~self.is_warm).nonzero().flatten()
        self._fresh_items = self.items[self.fresh].contiguous()

    def retrieve(
        self, queries: Tensor, seen: Tensor, cap: int, per_generator: int
    ) -> RetrievedRows:
        """The view and score rows of ``queries`` [B, D] outside ``seen`` [B, P'] bool.

        ``cap`` is the view's rank cap; a row whose kept ranking holds fewer than
        ``per_generator`` warm products gets its whole row scored (the candidates
        then take a top-k over it, as they do over a dense row).
        """
        b, p = seen.shape
        q = queries.float()
        keep = min(cap, p)
        history = [seen[r].nonzero().flatten() for r in range(b)]
        held = max((len(h) for h in history), default=0)
        _, found = self.index.search(np.ascontiguousarray(q.numpy()), keep + held)
        out = torch.full((b, p), float("nan"))
        fresh_scores = row_scores(self._fresh_items, q)  # [B, F]
        out[:, self.fresh] = fresh_scores
        top = torch.full((b, keep), -1, dtype=torch.long)
        mean = torch.zeros((b, 1), dtype=torch.float64)
        var = torch.zeros((b, 1), dtype=torch.float64)
        for r in range(b):
            hits = torch.from_numpy(found[r])
            hits = self.warm[hits[hits >= 0]]
            out[r, hits] = self.exact(q[r], hits)
            out[r, history[r]] = self.exact(q[r], history[r])
            ranking = self._ranking(out[r], hits, seen[r], keep)
            top[r, : len(ranking)] = ranking
            mean[r], var[r] = self._moments(q[r], fresh_scores[r], out[r, history[r]], p)
            short = int(self.is_warm[ranking].sum()) < per_generator and len(ranking) == keep
            if short:  # the candidates read past the kept ranking: the whole row
                out[r] = row_scores(self.items, q[r : r + 1])[0]
        std = var.sqrt().float().clamp(min=MIN_SPREAD)
        return RetrievedRows(GeneratorView(top, mean.float(), std, cap), out, self, q)

    def exact(self, query: Tensor, rows: Tensor) -> Tensor:
        """float32 [n] the scores of product ``rows`` [n] for ``query`` [D].

        NumPy gathers the rows: 0.14 ms for a thousand 384-d rows against 0.24 ms
        for torch's indexing (docs/ranking-log.md, the ninth round).
        """
        picked = np.take(self.items.numpy(), rows.numpy(), axis=0)
        return row_scores(torch.from_numpy(picked), query[None, :])[0]

    def _ranking(self, row: Tensor, hits: Tensor, seen: Tensor, keep: int) -> Tensor:
        """int64 [<= keep] unseen rows best first, ties by row: the hits and the fresh best.

        Args:
            row: [P'] the scores read so far (every fresh row and the ``hits``).
            hits: int64 [n] the warm rows the index returned.
            seen: [P'] bool, the shopper's history.
            keep: rows kept.
        """
        hits = hits[~seen[hits]]
        parts = [hits]
        if len(self.fresh):
            unseen = ~seen[self.fresh]
            scores = row[self.fresh]
            if len(hits) >= keep:  # only fresh rows at least the keep-th hit can place
                bound = row[hits].topk(keep).values[-1]
                parts.append(self.fresh[unseen & (scores >= bound)])
            else:
                best = top_ordered(scores.masked_fill(~unseen, float("-inf"))[None, :], keep)[0]
                parts.append(self.fresh[best[unseen[best]]])
        rows = torch.cat(parts)
        return stable_descending(row[rows], rows)[:keep]

    def _moments(
        self, query: Tensor, fresh: Tensor, seen: Tensor, products: int
    ) -> tuple[float, float]:
        """(mean, variance) of one row's scores over its unseen products.

        From the warm vectors' :class:`WarmMoments` and the exact scores of the
        ``fresh`` [F] and ``seen`` [H] products, over ``products`` P' in all.
        """
        q = query.double()
        m = self.moments
        count = max(products - len(seen), 1)
        warm_sum = float(q @ m.total)
        fresh64, seen64 = fresh.double(), seen.double()
        mean = (warm_sum + float(fresh64.sum()) - float(seen64.sum())) / count
        warm_mean = warm_sum / max(m.count, 1)
        squares = (
            float(q @ m.scatter @ q)
            + m.count * (warm_mean - mean) ** 2
            + float(((fresh64 - mean) ** 2).sum())
            - float(((seen64 - mean) ** 2).sum())
        )
        return mean, max(squares / count, 0.0)


class RetrievedRows:
    """One batch's rows of a :class:`Retrieval`: the view and the scores read so far.

    Attributes:
        view: the :class:`~kgrec.gnn.ranking.features.GeneratorView` the candidates read.
        scores: float32 [B, P'] exact where read (the fresh products, the index's
            hits, the history, the candidates once :meth:`fill` ran), NaN elsewhere.
    """

    def __init__(
        self, view: GeneratorView, scores: Tensor, retrieval: Retrieval, queries: Tensor
    ) -> None:
        self.view = view
        self.scores = scores
        self._retrieval = retrieval
        self._queries = queries

    def fill(self, candidates: Tensor) -> None:
        """Score the ``candidates`` [B, C] (-1 padding) not read yet, exactly, in place."""
        for r in range(len(candidates)):
            rows = candidates[r][candidates[r] >= 0]
            todo = rows[self.scores[r, rows].isnan()]
            if len(todo):
                self.scores[r, todo] = self._retrieval.exact(self._queries[r], todo)


def generator_scores(
    generators: Mapping[str, Recommender],
    retrieval: Mapping[str, Retrieval],
    users: Tensor,
    history: Tensor,
    seen: Tensor,
    cap: int,
    per_generator: int,
) -> tuple[dict[str, Tensor], dict[str, RetrievedRows]]:
    """Each generator's [B, P'] scores of ``users`` [B] given ``history`` [2, E].

    A generator with a :class:`Retrieval` is read through it when it scores every
    row of the batch linearly (its rows then hold NaN where nothing read them; the
    second mapping holds their views); otherwise, and for the others, the
    generator's dense scores. ``seen`` [B, P'] is the history as a mask; ``cap``
    and ``per_generator`` are the stages' rank cap and candidates per generator.
    """
    scores: dict[str, Tensor] = {}
    retrieved: dict[str, RetrievedRows] = {}
    for name, generator in generators.items():
        reader = retrieval.get(name)
        if reader is not None and isinstance(generator, LinearGenerator):
            queries, scored = generator.linear_queries(users, history)
            if bool(scored.all()):
                retrieved[name] = reader.retrieve(queries, seen, cap, per_generator)
                scores[name] = retrieved[name].scores
                continue
        scores[name] = generator.scores(users, history).float()
    return scores, retrieved
