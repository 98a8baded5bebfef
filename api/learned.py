"""The learned ranking step: the version's staged ranking over the served rows.

:func:`rank_learned` runs :class:`~kgrec.gnn.ranking.staged.StagedRanking` (bound to
the rows served now, :attr:`kgrec.api.state.ServedState.staged`), fuses its order with
the query's text order, and applies the filters (:func:`kgrec.api.fused.keep_mask`).
"""

from __future__ import annotations

import numpy as np
import torch

from kgrec.api import reasons
from kgrec.api.experiments.arms import RankingOverrides
from kgrec.api.fused import keep_mask
from kgrec.api.ranking import Filters, RankedItem, ScoreBreakdown, reciprocal_rank_fusion
from kgrec.api.state import ServedState
from kgrec.gnn.baselines.base import row_scores
from kgrec.gnn.ranking.slots import merge_fresh
from kgrec.gnn.ranking.staged import StagedRanking

LearnedResult = tuple[list[RankedItem], int, dict[int, tuple[str, ...]] | None]


def rank_learned(
    state: ServedState,
    staged: StagedRanking,
    device: str,
    *,
    text_candidates: int,
    served_limit: int,
    w_query: float,
    user_id: str | None,
    session_id: str | None = None,
    user_vec: np.ndarray | None,
    query_vec: np.ndarray | None,
    k: int,
    filters: Filters,
    exclude_rows: set[int],
    history: np.ndarray,
    explain: bool = False,
    overrides: RankingOverrides | None = None,
    linked: np.ndarray | None = None,
    w_link: float = 0.0,
) -> LearnedResult | None:
    """The learned staged ranking's top ``k`` (and its list length) after the filters.

    It is fused with the query's text order when there is a query or context; None
    when the filters leave fewer than ``k`` of it. ``history`` is the int64 rows of
    the shopper's history and the context rows (never served; excluded too when the
    filters exclude purchases). With ``explain``, also what proposed each row
    (:func:`kgrec.api.reasons.learned_proposers`, from the same pass). An
    experiment arm's ``overrides`` change the query weight, the fresh share, the
    fresh order's draw and the generators that propose candidates
    (:func:`arm_order`). The query's text order is the top ``text_candidates`` (at
    least as many as the personal list) by text similarity, weighted ``w_query``
    (unless the arm sets its own); ``linked`` (int64 rows of the categories the
    query names) adds the personal list within them, weighted ``w_link`` (the
    arm's already applied). The personal list is read
    to its first ``served_limit`` positions (at least ``k``), the whole of it when
    the filters leave fewer than ``k`` of those or an arm re-orders it. A shopper
    the version lacks draws the fresh products' order by ``user_id``, an anonymous
    request by ``session_id`` (:meth:`~kgrec.api.personal.PersonalRanking.served`).
    """
    cat = state.catalogue
    ranking = cat.ranking
    assert ranking is not None
    user_row = cat.user_row.get(user_id) if user_id is not None else None
    arm = overrides or RankingOverrides()
    drawn_by = user_id if user_id is not None else session_id  # the fresh order's draw
    newcomer = state.overlay.peers_of(user_id)
    if arm.fresh_temperature is not None:
        staged = staged.with_fresh_temperature(arm.fresh_temperature)
    reorders = arm.generators is not None or arm.fresh_share is not None
    with_proposers = explain or arm.generators is not None

    def served_order(limit: int | None) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        if with_proposers:
            return ranking.served_with_proposers(
                staged, user_row, history, shopper_id=drawn_by, newcomer=newcomer, limit=limit
            )
        served, scores = ranking.served(
            staged, user_row, history, shopper_id=drawn_by, newcomer=newcomer, limit=limit
        )
        return served, scores, {}

    head_size = max(served_limit, k)
    # the list's head only, unless an arm re-orders it or a filter narrows it
    limit = None if reorders or filters.narrowing else head_size
    served, ranker_scores, proposed = served_order(limit)
    if reorders:
        share = staged.config.fresh_share if arm.fresh_share is None else arm.fresh_share
        served, ranker_scores, proposed = arm_order(
            served, ranker_scores, proposed, arm.generators, share
        )
    sims: np.ndarray | None = None
    if query_vec is not None:
        q = torch.from_numpy(np.asarray(query_vec, np.float32))
        if device == "cpu":  # numpy's product over the row-major rows: 2-3x torch's here
            sims = row_scores(state.texts, q[None, :])[0].numpy()
        else:
            sims = (state.texts @ q.to(device)).cpu().numpy()
    drop = exclude_rows | (set(history.tolist()) if filters.exclude_purchased else set())
    weight = w_query if arm.w_query is None else arm.w_query

    def passing(read: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        rows, total, text_order = fuse_with_query(
            served[:read], sims, weight, text_candidates, linked=linked, w_link=w_link
        )
        keep = keep_mask(state, rows, filters, drop)
        return rows[keep], total[keep], text_order

    head = len(served) if reorders else min(len(served), head_size)
    rows, total, text_order = passing(head)  # the list's head first
    if len(rows) < k and limit is not None and len(served) == limit:
        # fewer than k there: all of the list, which was cut at the head
        served, ranker_scores, proposed = served_order(None)
    if len(rows) < k and head < len(served):
        rows, total, text_order = passing(len(served))
    if len(rows) < k and (filters.narrowing or len(rows) < min(k, state.size)):
        return None
    at = np.full(state.size, -1, dtype=np.int64)  # served row -> its position in served
    at[served] = np.arange(len(served))
    pop = torch.cat([cat.pop, cat.pop.new_zeros(state.overlay.size)])
    graph = (
        state.graph_rows(rows[:k]) @ np.asarray(user_vec, np.float32)
        if user_vec is not None
        else np.zeros(min(k, len(rows)), np.float32)
    )
    items = []
    for i, row in enumerate(rows[:k].tolist()):
        ranker = float(ranker_scores[at[row]]) if at[row] >= 0 else None
        part = ScoreBreakdown(
            graph=float(graph[i]),
            text=float(sims[row]) if sims is not None else 0.0,
            popularity=float(pop[row]),
            total=float(total[i]),
            ranker=None if ranker is None or np.isnan(ranker) else float(ranker),
        )
        items.append(state.item(row, part))
    proposers = None
    if explain:
        proposers = reasons.learned_proposers(
            served,
            proposed,
            ranker_scores,
            text_order,
            staged.config.per_generator,
        )
    return items, len(rows), proposers


def fuse_with_query(
    personal: np.ndarray,
    sims: np.ndarray | None,
    w_query: float,
    text_candidates: int,
    *,
    linked: np.ndarray | None = None,
    w_link: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The personal order fused with the query's text order (reciprocal rank).

    Args:
        personal: int64 [n] rows, best first (the head of the learned list).
        sims: float32 [P] each served row's text similarity to the query (or the
            context product); None: no query, the personal order alone.
        w_query: the text order's weight (the personal order's is 1).
        text_candidates: the text order's length, at least ``n``.
        linked: int64 rows of the category the query names
            (:mod:`kgrec.api.query_links`): the personal order within them is a
            third list. None: no category named.
        w_link: that list's weight.

    Returns:
        rows [R] best first, their fused scores [R]
        (:func:`~kgrec.api.ranking.reciprocal_rank_fusion`) and the text order
        fused (None without a query).
    """
    if sims is None:
        return (*reciprocal_rank_fusion([personal], [1.0]), None)
    n = min(len(sims), max(len(personal), text_candidates))
    top = np.argpartition(-sims, n - 1)[:n] if n < len(sims) else np.arange(len(sims))
    text_order = top[np.argsort(-sims[top], kind="stable")]
    lists, weights = [personal, text_order], [1.0, w_query]
    if linked is not None and w_link > 0:
        lists.append(personal[np.isin(personal, linked)])
        weights.append(w_link)
    return (*reciprocal_rank_fusion(lists, weights), text_order)


def arm_order(
    served: np.ndarray,
    scores: np.ndarray,
    proposed: dict[str, np.ndarray],
    generators: tuple[str, ...] | None,
    share: float,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The served order [S'] as an arm asks for it.

    Only the warm rows one of ``generators`` proposed (all when None), in the
    ranker's order, with the fresh rows (NaN ``scores``) merged in at a ``share`` of
    the positions.

    The ranker scores each candidate from its own features, so dropping the other
    generators' candidates leaves the order of the rest as the stages would give it.
    ``scores`` [S] and ``proposed`` (generator -> bool [S]) follow the rows.
    """
    warm = ~np.isnan(scores)
    keep = warm.copy()
    if generators is not None:
        keep &= np.logical_or.reduce([proposed[g] for g in generators])
    picked = merge_fresh(
        torch.from_numpy(np.flatnonzero(keep)), torch.from_numpy(np.flatnonzero(~warm)), share
    ).numpy()
    return served[picked], scores[picked], {g: m[picked] for g, m in proposed.items()}
