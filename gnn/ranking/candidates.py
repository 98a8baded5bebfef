"""Candidates: what each generator proposes for a user, and their union with its features.

A generator proposes its best unseen warm products above its row's floor
(:func:`proposed_pairs`); the union over the generators, topped up from one
generator's order where rows run short (:func:`top_candidates`), is what the
ranker scores (:func:`candidate_stage`, with :func:`~kgrec.gnn.ranking.features.
candidate_features`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

import torch
from torch import Tensor

from kgrec.gnn.ranking.features import (
    STACK_ELEMENTS,
    GeneratorView,
    candidate_features,
    generator_groups,
    generator_views,
)
from kgrec.gnn.ranking.ordering import row_slots, top_ordered
from kgrec.gnn.ranking.sparse_rows import BaseRow

if TYPE_CHECKING:
    from kgrec.gnn.ranking.retrieval import RetrievedRows


def proposals(
    scores: Tensor,
    view: GeneratorView,
    seen: Tensor,
    fresh: Tensor,
    per_generator: int | Tensor,
) -> Tensor:
    """[B, P] bool: the products one generator proposes, its top ``per_generator``.

    Taken from its ``view`` of ``scores`` [B, P], outside ``seen`` and ``fresh``
    [B, P]; a row whose kept ranking runs out of warm products first (fresh ones
    among its best) takes a top-k over the whole row instead
    (:func:`proposed_pairs`), and only products above the row's floor.
    """
    chosen = torch.zeros_like(seen)
    rows, cols = proposed_pairs(scores, view, seen, fresh, per_generator)
    chosen[rows, cols] = True
    return chosen


def proposed_pairs(
    scores: Tensor,
    view: GeneratorView,
    seen: Tensor,
    fresh: Tensor,
    per_generator: int | Tensor,
) -> tuple[Tensor, Tensor]:
    """(rows [N], columns [N]): :func:`proposals` as pairs, without a [B, P] mask.

    ``per_generator``: the products each row proposes at most, one for every
    row or [B] each row's own.

    A generator proposes no product tied at its row's floor: the score of the
    last product of its kept ranking (the lowest unseen score when the ranking
    holds every unseen product, else a tie of hundreds). The products tied
    there come in product order, not the generator's: an item-kNN row with 5
    votes proposes those 5, not 95 products by row number, and a flat row (a
    factor table's shopper it lacks: 0 everywhere) nothing. A floor held by
    one product alone is an order like any other, and that product is proposed.
    """
    at_top = view.top.clamp(min=0)
    limit = torch.as_tensor(per_generator).expand(len(view.top))
    rows, cols, short = _kept_pairs(
        view.top, scores.gather(1, at_top).float(), fresh.gather(1, at_top), limit
    )
    if bool(short.any()):
        rows, cols = _whole_row_pairs(rows, cols, short, scores, seen, fresh, limit)
    return rows, cols


def _kept_pairs(
    top: Tensor, values: Tensor, fresh_top: Tensor, limit: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """(rows [N], columns [N], short [R]): the proposals read off the kept rankings.

    ``top`` [R, K] a view's kept ranking (-1 past it), ``values`` float [R, K]
    the scores there, ``fresh_top`` [R, K] bool whether each product is fresh,
    ``limit`` [R] the proposals each row takes at most. ``short`` marks the rows
    whose fresh products above the floor crowded warm ones out of the kept
    ranking: their proposals come from the whole row (:func:`_whole_row_pairs`).
    """
    kept = top >= 0
    last = (kept.sum(1) - 1).clamp(min=0)[:, None]
    floor = values.gather(1, last)
    alone = (last == 0) | (values.gather(1, (last - 1).clamp(min=0)) > floor)  # [R, 1]
    above = kept & ((values > floor) | ((values == floor) & alone))
    valid = above & ~fresh_top
    take = valid & (torch.cumsum(valid, dim=1) <= limit[:, None])
    at = take.nonzero(as_tuple=True)
    short = (take.sum(1) < limit) & kept[:, -1] & (above & ~valid).any(1)
    return at[0], top[at], short


def _whole_row_pairs(
    rows: Tensor,
    cols: Tensor,
    short: Tensor,
    scores: Tensor,
    seen: Tensor,
    fresh: Tensor,
    limit: Tensor,
) -> tuple[Tensor, Tensor]:
    """``rows``/``cols`` with the ``short`` [B] rows' pairs taken from a top-k of the whole row."""
    banned = seen[short] | fresh[short]
    k = min(int(limit[short].max()), seen.shape[1])
    row = scores[short].float()
    unread = row.isnan()  # a retrieved row's products outside what was read
    scored = ~seen[short] & ~unread
    lowest = row.masked_fill(~scored, float("inf")).amin(1, keepdim=True)
    alone = ((row == lowest) & scored).sum(1, keepdim=True) == 1
    row = row.masked_fill(banned | unread, float("-inf"))
    top = top_ordered(row, k)
    value = row.gather(1, top)  # the whole row's floor, as above (never -inf)
    ok = (value > lowest) | ((value == lowest) & alone)
    ok &= torch.arange(k)[None, :] < limit[short][:, None]
    whole = short.nonzero().flatten()[:, None].expand_as(top)
    kept_rows = ~short[rows]
    return torch.cat([rows[kept_rows], whole[ok]]), torch.cat([cols[kept_rows], top[ok]])


def generator_proposals(
    scores: Mapping[str, Tensor],
    views: Mapping[str, GeneratorView],
    seen: Tensor,
    fresh: Tensor,
    per_generator: int,
    stack_elements: int = STACK_ELEMENTS,
    top_up: str = "",
) -> dict[str, tuple[Tensor, Tensor]]:
    """Generator -> (rows [N], columns [N]): what each one proposes, as the stage takes it.

    Each generator's :func:`proposed_pairs`, read off the kept rankings of the
    generators (whose views have as many columns) stacked in groups of
    :func:`generator_groups` over those columns, not over the catalogue: one
    pass for a request's ten generators. With ``top_up`` (a generator's name),
    that generator proposes as many more of its next best as the generator that
    proposed the fewest left empty (rows above their floor run out): the places
    a flat row leaves go to its order, not to products in row order. The
    candidates are their union (:func:`top_candidates`); the reasons read them
    per generator.

    Args:
        scores: generator -> [B, P] scores.
        views: generator -> its :func:`generator_views` view of ``scores``.
        seen: [B, P] bool, the history (never proposed).
        fresh: [B, P] bool, products without interactions (never proposed).
        per_generator: products taken from each generator per user.
        stack_elements: kept-ranking elements taken in one pass (:func:`generator_groups`).
        top_up: the generator proposing the places others leave ("" = none).
    """
    b = seen.shape[0]
    out: dict[str, tuple[Tensor, Tensor]] = {}
    fewest = torch.full((b,), per_generator, dtype=torch.long)  # per row, by any generator
    widths: dict[int, list[str]] = {}
    for name, view in views.items():
        widths.setdefault(view.top.shape[1], []).append(name)
    for width, names in widths.items():
        for group in generator_groups(names, b, width, stack_elements):
            n = len(group)
            top = torch.cat([views[g].top for g in group])  # [n * B, K]
            at_top = top.clamp(min=0)
            values = torch.cat(
                [scores[g].gather(1, at_top[i * b : (i + 1) * b]) for i, g in enumerate(group)]
            ).float()
            user = torch.arange(n * b) % b
            limit = torch.full((n * b,), per_generator, dtype=torch.long)
            rows, cols, short = _kept_pairs(top, values, fresh[user[:, None], at_top], limit)
            which = rows // b  # the generator of the group each stacked row is
            for i, name in enumerate(group):
                mine = which == i
                pairs = (rows[mine] % b, cols[mine])
                short_g = short[i * b : (i + 1) * b]
                if bool(short_g.any()):
                    pairs = _whole_row_pairs(
                        *pairs, short_g, scores[name], seen, fresh, limit[i * b : (i + 1) * b]
                    )
                out[name] = pairs
                fewest = torch.minimum(fewest, torch.bincount(pairs[0], minlength=b))
    out = {name: out[name] for name in views}  # in the views' order, whatever their widths
    if top_up and bool((fewest < per_generator).any()):
        limit = 2 * per_generator - fewest
        out[top_up] = proposed_pairs(scores[top_up], views[top_up], seen, fresh, limit)
    return out


def top_candidates(
    scores: Mapping[str, Tensor],
    views: Mapping[str, GeneratorView],
    seen: Tensor,
    fresh: Tensor,
    per_generator: int,
    stack_elements: int = STACK_ELEMENTS,
    top_up: str = "",
) -> Tensor:
    """[B, C] the union of :func:`generator_proposals` (the same arguments), padded with -1.

    Each row's candidates in product order, from the proposals' pairs (no [B, P]
    mask per generator).
    """
    b, p = seen.shape
    proposed = generator_proposals(
        scores, views, seen, fresh, per_generator, stack_elements, top_up
    )
    keys = [torch.zeros(0, dtype=torch.long)]  # row * P + column of every proposal
    keys += [rows * p + cols for rows, cols in proposed.values()]
    pairs = torch.unique(torch.cat(keys))  # sorted: row by row, in product order
    rows, cols = pairs // p, pairs % p
    slot, counts = row_slots(rows, b)
    width = max(int(counts.max()), 1) if b else 1
    out = torch.full((b, width), -1, dtype=torch.long)
    out[rows, slot] = cols
    return out


class CandidateStage(NamedTuple):
    """One pass of the candidate and feature stages over a batch of users.

    Attributes:
        features: [B, C, F] the ranker's features.
        candidates: [B, C] warm product rows, -1 padding.
        scores: generator -> [B, P] its scores.
        views: generator -> its :class:`GeneratorView`.
        seen: [B, P] bool, the users' history.
    """

    features: Tensor
    candidates: Tensor
    scores: dict[str, Tensor]
    views: dict[str, GeneratorView]
    seen: Tensor


def candidate_stage(
    scores: dict[str, Tensor],
    seen: Tensor,
    item_count: Tensor,
    unavailable: Mapping[str, Tensor],
    cap: int,
    per_generator: int,
    retrieved: Mapping[str, RetrievedRows] | None = None,
    bases: Mapping[str, BaseRow] | None = None,
    top_up: str = "",
) -> CandidateStage:
    """The candidates of a batch and their features, from the generators' ``scores`` [B, P].

    :func:`generator_views` (rank cap ``cap``), :func:`top_candidates` (the
    products without interactions in ``item_count`` [P] left to the fresh slots)
    and :func:`candidate_features`, over ``seen`` [B, P] and the generators
    ``unavailable`` per user. The generators in ``retrieved`` bring their own
    views (:mod:`kgrec.gnn.ranking.retrieval`; ``scores`` holds their partial
    rows), and their candidates' scores are filled in before the features. The
    generators' ``bases`` go to :func:`generator_views`, ``top_up`` to :func:`top_candidates`.
    """
    retrieved = retrieved or {}
    fresh = (item_count == 0)[None, :].expand_as(seen)
    read = {g: s for g, s in scores.items() if g not in retrieved}
    dense = generator_views(read, seen, cap, bases=bases)
    views = {g: retrieved[g].view if g in retrieved else dense[g] for g in scores}
    candidates = top_candidates(scores, views, seen, fresh, per_generator, top_up=top_up)
    for rows in retrieved.values():
        rows.fill(candidates)
    features = candidate_features(scores, views, candidates, seen, item_count, unavailable)
    return CandidateStage(features, candidates, scores, views, seen)
