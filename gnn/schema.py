"""The graph schema the GNN works on: node types, edge types and their reverses.

Imported by the model, the checkpoint and inference without the exporter (which
needs the graph driver and the text encoder): loading a model loads neither.
"""

from __future__ import annotations

import re
from typing import Final

PRODUCT: Final = "product"
BRAND: Final = "brand"
CATEGORY: Final = "category"
USER: Final = "user"
ENTITY: Final = "entity"
NODE_TYPES: Final = (PRODUCT, BRAND, CATEGORY, USER, ENTITY)
INTERACTED: Final = (USER, "interacted", PRODUCT)
NUM_PRODUCT_EXTRA: Final = 2  # log1p(price), has_price


def relation_name(relation: str) -> str:
    """A knowledge-graph relation as an edge-type name (letters, digits, underscores)."""
    return "kg_" + re.sub(r"[^A-Za-z0-9]+", "_", relation).strip("_").lower()


def reverse(edge_type: tuple[str, str, str]) -> tuple[str, str, str]:
    """The reverse edge type: (dst, rev_<rel>, src)."""
    src, rel, dst = edge_type
    return (dst, f"rev_{rel}", src)
