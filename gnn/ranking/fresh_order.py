"""FreshOrder: the catalogue's fresh products and each shopper's drawn cold order.

Products without any training interaction (fresh) never go through the ranker;
the cold path orders them for each shopper: the summed z-scores of the
``fresh_generators`` (personal: the GNN from content and graph, text-kNN) and of
each fresh product's predicted popularity (the interaction counts of its content
neighbours, :mod:`kgrec.gnn.ranking.fresh_popularity`), with the shopper's draw
added (:func:`~kgrec.gnn.ranking.slots.drawn_fresh_order`). The served list then
places them at the fresh slots (:func:`~kgrec.gnn.ranking.slots.served_list`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from torch import Tensor

from kgrec.gnn.baselines import Recommender
from kgrec.gnn.ranking.fresh_popularity import neighbour_popularity
from kgrec.gnn.ranking.slots import drawn_fresh_order, fresh_order_scores


def predicted_popularity(
    generators: Mapping[str, Recommender], names: Sequence[str], count: Tensor, fresh: Tensor
) -> dict[str, Tensor]:
    """Signal -> [P] predicted popularity of the ``fresh`` [P] rows, given ``count`` [P].

    One signal per generator of ``names`` (``<name>/popularity``): the interaction
    counts of the product's neighbours in that generator's table.
    """
    return {f"{n}/popularity": neighbour_popularity(generators[n], count, fresh) for n in names}


class FreshOrder(NamedTuple):
    """The catalogue's fresh products [F] (rows, ascending) and their predicted popularity.

    Build it with :meth:`of`; one per binding of the stages, shared by their copies.
    """

    columns: Tensor
    popularity: dict[str, Tensor]

    @classmethod
    def of(
        cls, generators: Mapping[str, Recommender], popularity: Sequence[str], item_count: Tensor
    ) -> FreshOrder:
        """The fresh products of ``item_count`` [P] (0 = fresh) and their predicted popularity.

        Args:
            generators: the bound generators.
            popularity: names of the generators whose tables predict popularity.
            item_count: [P] training interactions per product row.
        """
        fresh = item_count == 0
        columns = fresh.nonzero().flatten()
        signals = predicted_popularity(generators, popularity, item_count, fresh)
        return cls(columns, {n: v[columns] for n, v in signals.items()})

    def drawn(
        self,
        scores: Mapping[str, Tensor],
        personal: Sequence[str],
        seen: Tensor,
        keys: Tensor,
        temperature: float,
    ) -> tuple[Tensor, Tensor]:
        """(mine [B, F] bool, order [B, F]): each shopper's fresh products and drawn cold order.

        Args:
            scores: generator -> [B, P] the candidate stage's scores.
            personal: the generators whose scores enter the cold order.
            seen: [B, P] bool, each shopper's history (its fresh products are left out).
            keys: int64 [B] the shoppers' draw keys
                (:func:`~kgrec.gnn.ranking.slots.fresh_draw_noise`).
            temperature: the draw's temperature (0 = the cold order as it is).
        """
        b = len(seen)
        mine = ~seen.index_select(1, self.columns)
        signals = {n: scores[n].index_select(1, self.columns) for n in personal}
        signals |= {n: v[None, :].expand(b, -1) for n, v in self.popularity.items()}
        cold = fresh_order_scores(signals, list(signals), mine)
        return mine, drawn_fresh_order(cold, self.columns, keys, temperature)
