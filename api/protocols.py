"""What the serving engine needs from the text encoder and the GNN, as small protocols.

The engine never imports the concrete classes: the app wires in
``text_encoders.load_encoder(...)`` and the GNN's inductive embedder, tests and
the bench can pass anything with the same shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from graph import GraphStore


class TextEncoder(Protocol):
    """Encodes texts into L2-normalised vectors of the artifacts' text space."""

    @property
    def dim(self) -> int:
        """Width T of the vectors."""
        ...

    @property
    def model_id(self) -> str:
        """Identity of the model (compared with the artifact manifest's ``encoder_id``)."""
        ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """float32 [N, T], rows L2-normalised."""
        ...


class InductiveEmbedder(Protocol):
    """Graph-space vectors for nodes the artifacts do not hold, from their graph neighbours."""

    def embed_new_items(self, store: GraphStore, product_ids: Sequence[str]) -> np.ndarray:
        """float32 [n, D_graph] for products already written to the graph."""
        ...

    def embed_user(self, store: GraphStore, user_id: str) -> np.ndarray:
        """float32 [D_graph] for a user from the interactions in the graph."""
        ...
