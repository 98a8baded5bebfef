"""Staged ranking: candidate generators, features, a learned ranker and fresh slots.

One implementation of the ranking stages, shared by ``kgrec evaluate`` (the
``kgrec`` row, through :class:`StagedRanking`) and the serving engine, so the
evaluation measures what is served.
"""

from kgrec.gnn.ranking.candidates import top_candidates
from kgrec.gnn.ranking.config import StagedConfig
from kgrec.gnn.ranking.features import BASE_FEATURES, candidate_features, feature_names
from kgrec.gnn.ranking.kg_knn import KGKNN
from kgrec.gnn.ranking.peer_popularity import PeerPopularity
from kgrec.gnn.ranking.ranker import LearnedRanker, RankerConfig
from kgrec.gnn.ranking.slots import merge_fresh
from kgrec.gnn.ranking.staged import StagedRanking

__all__ = [
    "BASE_FEATURES",
    "KGKNN",
    "LearnedRanker",
    "PeerPopularity",
    "RankerConfig",
    "StagedConfig",
    "StagedRanking",
    "candidate_features",
    "feature_names",
    "merge_fresh",
    "top_candidates",
]
