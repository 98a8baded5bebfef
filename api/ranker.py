"""Ranker: one ranking request over a served state, from history exclusion to reasons.

The learned ranking (:func:`kgrec.api.learned.rank_learned`) when the version holds one
and enough of it passes the filters, else the fused ranking
(:class:`kgrec.api.fused.FusedRanking`); with ``explain``, each item's reasons
(:func:`kgrec.api.reasons.explain_items`, at most one graph read per request).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from kgrec.api import reasons
from kgrec.api.experiments.arms import RankingOverrides
from kgrec.api.fused import FusedRanking, allowed_rows
from kgrec.api.health import GraphHealth
from kgrec.api.history import ShopperHistory
from kgrec.api.learned import LearnedResult, rank_learned
from kgrec.api.ranking import Filters, RankedItem, RankedList, Strategy
from kgrec.api.state import ServedState


class Ranker:
    """The ranking step of :meth:`kgrec.api.engine.Engine.recommend` and ``similar``.

    Args:
        device: where the vectors live.
        fused: the fused ranking.
        history: the shoppers' history (exclusion filter, reasons).
        health: the graph (purchases, reasons' shared links).
        text_candidates: the learned ranking's query list length (at least its own).
        served_limit: positions of the learned ranking's list read (at least k; all
            of it when the filters leave fewer than k there).
        w_query: the weight of that list against the personal one.
        w_link: the weight of the personal list within the category a query names.
        link_threshold: the cosine a query must reach with a category's name to name it.
    """

    def __init__(
        self,
        device: str,
        fused: FusedRanking,
        history: ShopperHistory,
        health: GraphHealth,
        *,
        text_candidates: int,
        served_limit: int,
        w_query: float,
        w_link: float,
        link_threshold: float,
    ) -> None:
        self.text_candidates = text_candidates
        self.served_limit = served_limit
        self.w_query = w_query
        self.w_link = w_link
        self.link_threshold = link_threshold
        self.device = device
        self._fused = fused
        self._history = history
        self._health = health

    def rank(
        self,
        state: ServedState,
        *,
        user_id: str | None,
        user_vec: np.ndarray | None,
        query_vec: np.ndarray | None,
        k: int,
        filters: Filters,
        exclude: set[str],
        context_rows: list[int],
        strategy: Strategy,
        user_known: bool,
        explain: bool,
        query: str | None = None,
        overrides: RankingOverrides | None = None,
        session_id: str | None = None,
    ) -> RankedList:
        """Rank one request over ``state``.

        The learned ranking is used when the version holds one, the experiment arm's
        ``overrides`` do not turn it off and enough of it passes the filters; else
        the fused one. When the typed ``query`` names a category
        (:mod:`kgrec.api.query_links`) the learned ranking fuses the shopper's order
        within it (weight ``w_link``, or the arm's).
        """
        notes: list[str] = []
        # the shopper's history held in memory: the version's interactions of every
        # kind (when it holds a learned ranking) and the events recorded online
        history = self._history.rows(state, user_id)
        exclude_rows = {r for r in (state.row(i) for i in exclude) if r is not None}
        if filters.exclude_purchased:
            exclude_rows |= set(history.tolist())
        staged = state.staged if overrides is None or overrides.ranker is not False else None
        learned: LearnedResult | None = None
        if staged is not None:
            arm_link = None if overrides is None else overrides.w_link
            w_link = self.w_link if arm_link is None else arm_link
            link = linked = None
            if query and query_vec is not None and w_link > 0:  # typed, not a context product
                link = state.links.link(query_vec, self.link_threshold)
            if link is not None:
                linked = allowed_rows(state, Filters(categories=link.category_ids))
            learned = rank_learned(
                state,
                staged,
                self.device,
                text_candidates=self.text_candidates,
                served_limit=self.served_limit,
                w_query=self.w_query,
                user_id=user_id,
                session_id=session_id,
                user_vec=user_vec,
                query_vec=query_vec,
                k=k,
                filters=filters,
                exclude_rows=exclude_rows,
                history=np.concatenate([history, context_rows]).astype(np.int64),
                explain=explain,
                overrides=overrides,
                linked=linked,
                w_link=w_link,
            )
            if learned is None:
                notes.append("few learned-ranking results passed the filters; ranked by weights")
            elif link is not None and linked is not None and len(linked) > 0:
                notes.append(
                    f"the query names the category {link.name!r} (similarity "
                    f"{link.similarity:.2f}): the shopper's order within it is fused in"
                )
        proposers: dict[int, tuple[str, ...]] | None = None
        if learned is not None:
            items, count, proposers = learned
        else:
            if filters.exclude_purchased:
                # beside the history above, the purchases in the graph: all a version
                # without a learned ranking knows of the shopper
                bought = self._history.purchased(user_id)
                exclude_rows |= {r for r in (state.row(i) for i in bought) if r is not None}
            items, count = self._fused.rank(
                state,
                user_vec=user_vec,
                query_vec=query_vec,
                k=k,
                filters=filters,
                exclude_rows=exclude_rows,
                context_rows=context_rows,
                notes=notes,
            )
        if filters.narrowing and len(items) < k:
            passed = f"only {len(items)} of the {k} asked for pass" if items else "none passes"
            notes.append(f"{passed} the filters ({filters.described()}) among the products served")
        if explain:
            grounds = self._grounds(state, user_id, user_known, query, history, context_rows)
            items = self._with_reasons(state, items, replace(grounds, proposers=proposers))
        return RankedList(
            items=items,
            artifact_version=state.catalogue.version,
            strategy=strategy,
            user_known=user_known,
            candidates=count,
            notes=notes,
            ranking="learned" if learned is not None else "fused",
        )

    def _grounds(
        self,
        state: ServedState,
        user_id: str | None,
        user_known: bool,
        query: str | None,
        history: np.ndarray,
        context_rows: list[int],
    ) -> reasons.Grounds:
        ranking = state.catalogue.ranking
        row = state.catalogue.user_row.get(user_id) if user_id is not None else None
        return reasons.Grounds(
            user_id=user_id,
            user_known=user_known,
            query=query,
            history=history,
            context=np.asarray(context_rows, np.int64),
            has_peers=ranking is not None
            and ranking.has_peers(row, state.overlay.peers_of(user_id)),
        )

    def _with_reasons(
        self, state: ServedState, items: list[RankedItem], grounds: reasons.Grounds
    ) -> list[RankedItem]:
        """The items with their reasons: at most one graph read for all of them."""
        ranking = state.catalogue.ranking
        rows = [state.require_item(i.id, "item") for i in items]
        return reasons.explain_items(
            items,
            rows,
            grounds,
            product=state.product_ref,
            tables=ranking.stored.neighbours if ranking is not None else {},
            texts=state.texts,
            read_links=self._health.pair_links if self._health.store is not None else None,
        )
