"""Baseline recommenders evaluated in the same run and on the same splits as the GNN."""

from kgrec.gnn.baselines.base import Recommender, history_matrix, item_popularity
from kgrec.gnn.baselines.implicit_als import ImplicitALS
from kgrec.gnn.baselines.implicit_item_knn import ImplicitItemKNN
from kgrec.gnn.baselines.item_knn import ItemKNN
from kgrec.gnn.baselines.mf_bpr import MFBPR
from kgrec.gnn.baselines.popularity import Popularity
from kgrec.gnn.baselines.text_knn import TextKNN
from kgrec.gnn.baselines.tuning import Tunable, Tuned, tune

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
