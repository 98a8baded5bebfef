"""EngineOptions: what the serving engine and its stages run with.

:func:`kgrec.api.wiring.engine_options` builds them from the settings; the engine
and its stages (:mod:`kgrec.api.fused`, :mod:`kgrec.api.learned`,
:mod:`kgrec.api.catalogue`, ...) take these values, never the settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kgrec.api.index import IndexOptions
from kgrec.api.ranking import Weights


@dataclass(frozen=True)
class Candidates:
    """How many candidates the fused ranking takes from each source.

    Attributes:
        graph: ANN hits in graph space.
        text: ANN hits in text space (also the query's list in the learned ranking).
        pop: most popular products.
        context: neighbours of the context product.
        exact_filter_max_items: filters selecting at most this many products are
            scored exactly instead.
        served: positions of the learned ranking's list that the query fusion and
            the filters read (:func:`kgrec.api.learned.rank_learned`).
    """

    graph: int
    text: int
    pop: int
    context: int
    exact_filter_max_items: int
    served: int


@dataclass(frozen=True)
class EngineOptions:
    """What :class:`kgrec.api.engine.Engine` serves with (the ``KGREC_SERVING__*`` settings).

    Attributes:
        device: torch device of the scoring tensors.
        data_dir: the data directory (the text cache of products added online).
        weights: the fused ranking's weights.
        candidates: candidate counts of the fused ranking.
        index: the faiss indexes' kind and parameters.
        max_k: the largest k a request may ask for.
        query_cache_size: query embeddings kept (LRU).
        user_cache_size: shoppers whose purchases are cached.
        graph_check_interval_s: how long a graph reachability check is trusted.
        ranker: serve the learned ranking when the version holds one.
        fresh_share: share of the learned ranking's positions kept for fresh products.
        fresh_temperature: temperature of each shopper's draw of the fresh order.
        w_query: weight of the query's text order against the personal one.
        w_link: weight of the personal order within the category a typed query
            names (:mod:`kgrec.api.query_links`; 0 = never linked).
        link_threshold: cosine a query must reach with a category's name.
    """

    device: str
    data_dir: Path
    weights: Weights
    candidates: Candidates
    index: IndexOptions
    max_k: int
    query_cache_size: int
    user_cache_size: int
    graph_check_interval_s: float
    ranker: bool
    fresh_share: float
    fresh_temperature: float
    w_query: float
    w_link: float
    link_threshold: float
