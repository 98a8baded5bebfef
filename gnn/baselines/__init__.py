"""Baseline recommenders evaluated in the same run and on the same splits as the GNN."""

from gnn.baselines.base import Recommender, history_matrix, item_popularity
from gnn.baselines.item_knn import ItemKNN
from gnn.baselines.mf_bpr import MFBPR
from gnn.baselines.popularity import Popularity
from gnn.baselines.text_knn import TextKNN

__all__ = [
    "MFBPR",
    "ItemKNN",
    "Popularity",
    "Recommender",
    "TextKNN",
    "history_matrix",
    "item_popularity",
]
