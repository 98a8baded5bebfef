"""Candidates and their features: what the ranker sees for one (user, product) pair.

Each candidate generator contributes three features: its raw score, the score as
a z-score over the user's unseen products, and ``log1p`` of its rank there
(capped at :data:`RANK_CAP`). One pass of each generator's scores
(:func:`generator_views`: two sums and one top-k, the history taken out
afterwards) serves both the candidates and these features. Three
more describe the situation: the user's history length, the product's
interaction count and whether it has none (``log1p`` where counts). A generator
that cannot score a user (a factor model for a user it was not trained on) gives
NaN, which the ranker treats as missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

import torch
from torch import Tensor

from kgrec.gnn.ranking.ordering import top_ordered
from kgrec.gnn.ranking.sparse_rows import BaseRow, SparseView, sparse_view

BASE_FEATURES: Final = ("history_len", "item_count", "item_fresh")
Z_SUFFIX: Final = "_z"
"""The suffix of a generator's z-score feature (``<generator>_z``)."""
_PER_GENERATOR: Final = ("", Z_SUFFIX, "_rank")
RANK_CAP: Final = 512
"""Ranks a generator's rank feature tells apart by default; lower ones read as this.

Saved with each ranking (``StagedConfig.rank_cap``; rankings saved before it
read 4,096). At 4,096 the nine top-k took 13 ms of a request over 100k
products; 512 moved MovieLens-100K's Recall@20 by under 1 % on every view
(seeds 0 and 2, docs/ranking-log.md) and costs 2 ms there.
"""


STACK_ELEMENTS: Final = 1 << 17
"""Score elements (generators x users x products) one stacked pass takes.

The views, proposals and features stack the score rows of as many generators
as fit (:func:`generator_groups`) and run each step once over them. For one
request over MovieLens-100K's 1,682 products all nine generators fit in one
pass, and the steps' fixed cost per call, which dominates there, is paid once
instead of nine times. A request over 100k products, or an evaluation batch
of users, takes each generator alone, as a stacked copy of rows that large
costs more than the calls it saves (docs/ranking-log.md). Every step works
row by row, so the grouping never changes a result.
"""
MIN_SPREAD: Final = 1e-6
"""The least standard deviation a view keeps (the z-scores' floor)."""


def feature_names(generators: Sequence[str]) -> tuple[str, ...]:
    """The ordered feature names for generators ``generators``."""
    names = [f"{g}{suffix}" for g in generators for suffix in _PER_GENERATOR]
    return (*names, *BASE_FEATURES)


@dataclass(frozen=True)
class GeneratorView:
    """One generator's scores as the candidates and features read them, per user.

    Attributes:
        top: int64 [B, K] the unseen products, best first, ties in product order
            (K = min(cap, P); -1 past a row's unseen products).
        mean: float32 [B, 1] the mean score over the row's unseen products.
        std: float32 [B, 1] their standard deviation (at least :data:`MIN_SPREAD`).
        cap: the rank every product past ``top`` reads as.
    """

    top: Tensor
    mean: Tensor
    std: Tensor
    cap: int


def generator_groups(
    names: Sequence[str], rows: int, products: int, budget: int = STACK_ELEMENTS
) -> list[list[str]]:
    """``names`` in order, cut into groups of at most ``budget`` score elements.

    A group's score rows (``rows`` x ``products`` each) are stacked and taken in
    one pass (:data:`STACK_ELEMENTS`); a generator whose rows alone exceed the
    budget is a group of its own.
    """
    per = max(1, budget // max(rows * products, 1))
    return [list(names[i : i + per]) for i in range(0, len(names), per)]


def stack_rows(parts: Sequence[Tensor]) -> Tensor:
    """The [B, P] tensors ``parts`` as one [len(parts) * B, P] (the one itself when alone)."""
    return parts[0] if len(parts) == 1 else torch.cat(list(parts))


def tile_rows(x: Tensor, times: int) -> Tensor:
    """[B, P] ``x`` repeated ``times`` over its rows."""
    return x if times == 1 else x.repeat(times, 1)


def stack_views(views: Sequence[GeneratorView]) -> GeneratorView:
    """The views of a stacked group as one view over its stacked rows."""
    caps = {v.cap for v in views}
    if len(caps) != 1:
        raise ValueError(f"views of one stacked pass must share their rank cap, not {caps}")
    return GeneratorView(
        stack_rows([v.top for v in views]),
        stack_rows([v.mean for v in views]),
        stack_rows([v.std for v in views]),
        caps.pop(),
    )


def generator_views(
    scores: Mapping[str, Tensor],
    seen: Tensor,
    cap: int = RANK_CAP,
    stack_elements: int = STACK_ELEMENTS,
    bases: Mapping[str, BaseRow] | None = None,
) -> dict[str, GeneratorView]:
    """Each generator's :class:`GeneratorView` of ``scores`` [B, P] outside ``seen`` [B, P].

    The mean and spread come from the row's sums less the history's share (the
    spread from the deviations, not the squares, so large offsets do not cancel),
    and the ranking from one :func:`top_ordered` of ``cap`` plus the longest
    history, the history dropped from it: a few passes over the row, whatever
    its length (exact: the products kept and their order are those of a stable
    sort of the unseen ones, whatever the batch). Generators are taken in the
    stacked groups of :func:`generator_groups` (``stack_elements``); every step
    works row by row, so the views are the same whatever the grouping. A
    generator with one of ``bases`` (:mod:`~kgrec.gnn.ranking.sparse_rows`) is a
    group of its own, its rows read off that base where they can be.
    """
    b, p = seen.shape
    bases = bases or {}
    history = _History.of(seen)
    tiled = {1: history}
    views: dict[str, GeneratorView] = {}
    groups = generator_groups([g for g in scores if g not in bases], b, p, stack_elements)
    for group in groups + [[g] for g in scores if g in bases]:
        n = len(group)
        if n not in tiled:
            tiled[n] = history.tiled(n)
        base = bases.get(group[0]) if n == 1 else None
        view = _view(stack_rows([scores[g].float() for g in group]), tiled[n], cap, base)
        for i, name in enumerate(group):
            rows = slice(i * b, (i + 1) * b)
            views[name] = GeneratorView(view.top[rows], view.mean[rows], view.std[rows], cap)
    return views


class _History(NamedTuple):
    """A batch's history as the views read it, computed once for every generator.

    Attributes:
        seen: [B, P] bool.
        rows: [H] and ``cols`` [H]: its nonzeros.
        held: [B] products held per row.
    """

    seen: Tensor
    rows: Tensor
    cols: Tensor
    held: Tensor

    @classmethod
    def of(cls, seen: Tensor) -> _History:
        """The history of ``seen`` [B, P]."""
        rows, cols = seen.nonzero(as_tuple=True)
        return cls(seen, rows, cols, seen.sum(1))

    def tiled(self, times: int) -> _History:
        """The same history for ``times`` stacked copies of the batch."""
        b = len(self.seen)
        shift = (torch.arange(times) * b).repeat_interleave(len(self.rows))
        return _History(
            tile_rows(self.seen, times),
            self.rows.repeat(times) + shift,
            self.cols.repeat(times),
            self.held.repeat(times),
        )


def _view(s: Tensor, history: _History, cap: int, base: BaseRow | None = None) -> GeneratorView:
    """The :class:`GeneratorView` of float32 ``s`` [B, P] outside ``history``.

    ``base``: the generator's :class:`~kgrec.gnn.ranking.sparse_rows.BaseRow`, if any.
    """
    read = sparse_view(s, history.rows, history.cols, min(cap, s.shape[1]), base)
    if read is not None:
        return _with_dense_rows(read, s, history, cap)
    seen, rows, cols, held = history
    count = (seen.shape[1] - held).clamp(min=1).double()[:, None]
    width = min(cap + int(held.max()) if len(held) else cap, seen.shape[1])
    keep = min(cap, seen.shape[1])
    total = s.sum(1, dtype=torch.float64).index_add(0, rows, -s[rows, cols].double())
    mean = total[:, None] / count
    deviation = s - mean.float()
    off = deviation[rows, cols].double()
    square = (deviation * deviation).sum(1, dtype=torch.float64).index_add(0, rows, -off * off)
    var = (square[:, None] / count).clamp(min=0.0)
    top = top_ordered(s, width)
    unseen = ~seen.gather(1, top)
    position = torch.cumsum(unseen, dim=1) - 1
    fits = unseen & (position < keep)
    out = torch.full((len(s), keep), -1, dtype=torch.long)
    at = fits.nonzero(as_tuple=True)
    out[at[0], position[at]] = top[at]
    return GeneratorView(out, mean.float(), var.sqrt().float().clamp(min=MIN_SPREAD), cap)


def _with_dense_rows(read: SparseView, s: Tensor, history: _History, cap: int) -> GeneratorView:
    """The view of ``s`` [B, P]: :func:`sparse_view`'s rows, :func:`_view`'s for the others.

    Row by row as :func:`_view` is: a row gets the same view alone or in any batch.
    """
    std = read.var.sqrt().float().clamp(min=MIN_SPREAD)
    out = GeneratorView(read.top, read.mean.float(), std, cap)
    if bool(read.done.all()):
        return out
    rest = (~read.done).nonzero(as_tuple=True)[0]
    dense = _view(s[rest], _History.of(history.seen[rest]), cap)
    out.top[rest], out.mean[rest], out.std[rest] = dense.top, dense.mean, dense.std
    return out


def candidate_features(
    scores: Mapping[str, Tensor],
    views: Mapping[str, GeneratorView],
    candidates: Tensor,
    seen: Tensor,
    item_count: Tensor,
    unavailable: Mapping[str, Tensor] | None = None,
    stack_elements: int = STACK_ELEMENTS,
) -> Tensor:
    """float32 [B, C, F] features of ``candidates`` in :func:`feature_names` order.

    Args:
        scores: generator -> [B, P] scores (the generators' order sets the features').
        views: generator -> its :func:`generator_views` view.
        candidates: [B, C] product rows, -1 = padding (its features are NaN).
        seen: [B, P] bool, the user's history.
        item_count: [P] training interactions per product.
        unavailable: generator -> [B] bool, users it cannot score (features NaN).
        stack_elements: generators' rows taken in one pass (:func:`generator_groups`).
    """
    idx = candidates.clamp(min=0)
    b = len(candidates)
    columns: list[Tensor] = []
    for group in generator_groups(list(scores), b, seen.shape[1], stack_elements):
        s = stack_rows([scores[g].float() for g in group])
        view = stack_views([views[g] for g in group])
        at_rows = tile_rows(idx, len(group))
        raw = s.gather(1, at_rows)
        z = (raw - view.mean) / view.std
        ranks = torch.log1p(_ranks(view, at_rows).float())
        for i, name in enumerate(group):
            rows = slice(i * b, (i + 1) * b)
            block = [raw[rows], z[rows], ranks[rows]]
            missing = (unavailable or {}).get(name)
            if missing is not None:
                block = [c.masked_fill(missing[:, None], float("nan")) for c in block]
            columns += block
    history_len = torch.log1p(seen.sum(1).float())[:, None].expand_as(idx)
    count = item_count.float()[idx]
    columns += [history_len, torch.log1p(count), (count == 0).float()]
    out = torch.stack(columns, dim=2)
    return out.masked_fill((candidates < 0)[:, :, None], float("nan"))


def _ranks(view: GeneratorView, rows: Tensor) -> Tensor:
    """int64 [B, C]: each of ``rows`` [B, C]'s place in ``view.top`` [B, K], else ``view.cap``.

    By a binary search of each row's sorted ranking (its -1 padding first, never
    matched), not a [B, P] table of places.
    """
    if view.top.shape[1] == 0:
        return torch.full_like(rows, view.cap)
    listed, place = view.top.sort(dim=1)
    at = torch.searchsorted(listed, rows).clamp(max=listed.shape[1] - 1)
    found = listed.gather(1, at) == rows
    return torch.where(found, place.gather(1, at), torch.full_like(rows, view.cap))
