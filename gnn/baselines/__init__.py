"""Baseline recommenders evaluated in the same run and on the same splits as the GNN."""

from gnn.baselines.base import Recommender, history_matrix, item_popularity
from gnn.baselines.implicit_als import ImplicitALS
from gnn.baselines.implicit_item_knn import ImplicitItemKNN
from gnn.baselines.item_knn import ItemKNN
from gnn.baselines.mf_bpr import MFBPR
from gnn.baselines.popularity import Popularity
from gnn.baselines.text_knn import TextKNN
from gnn.baselines.tuning import Tunable, Tuned, tune

__all__ = [
    "MFBPR",
    "ImplicitALS",
    "ImplicitItemKNN",
    "ItemKNN",
    "Popularity",
    "Recommender",
    "TextKNN",
    "Tunable",
    "Tuned",
    "history_matrix",
    "item_popularity",
    "tune",
]
