"""The graph schema the GNN works on: node types, edge types and their reverses.

Imported by the model, the checkpoint and inference without the exporter (which
needs the graph driver and the text encoder): loading a model loads neither.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final, TypeAlias

from torch import Tensor

EdgeType: TypeAlias = tuple[str, str, str]
"""(source node type, relation, destination node type): ``torch_geometric.typing.EdgeType``.

Spelled out here rather than imported: importing anything from PyG 2.8 runs
``torch_geometric/__init__``, which loads its dataset and LLM modules and through
them ``transformers`` (about 2.7 s), and the model must load without them (see
tests/gnn/test_layering.py); PyG also ships no ``py.typed``, so mypy would see its
alias as ``Any``. tests/gnn/test_model.py checks that the two are the same type.
"""

PRODUCT: Final = "product"
BRAND: Final = "brand"
CATEGORY: Final = "category"
USER: Final = "user"
ENTITY: Final = "entity"
NODE_TYPES: Final = (PRODUCT, BRAND, CATEGORY, USER, ENTITY)
INTERACTED: Final = (USER, "interacted", PRODUCT)
HAS_BRAND: Final = (PRODUCT, "has_brand", BRAND)
IN_CATEGORY: Final = (PRODUCT, "in_category", CATEGORY)
SUBCATEGORY_OF: Final = (CATEGORY, "subcategory_of", CATEGORY)
NUM_PRODUCT_EXTRA: Final = 2  # log1p(price), has_price


def relation_name(relation: str) -> str:
    """A knowledge-graph relation as an edge-type name (letters, digits, underscores)."""
    return "kg_" + re.sub(r"[^A-Za-z0-9]+", "_", relation).strip("_").lower()


def reverse(edge_type: EdgeType) -> EdgeType:
    """The reverse edge type: (dst, rev_<rel>, src), PyG's ``ToUndirected`` name."""
    src, rel, dst = edge_type
    return (dst, f"rev_{rel}", src)


def with_reverse(edges: Mapping[EdgeType, Tensor]) -> dict[EdgeType, Tensor]:
    """Every edge type followed by its reverse: the one place reverse edges are made.

    The reverse edges are those ``torch_geometric.transforms.ToUndirected(merge=False)``
    adds to a ``HeteroData`` (tested): type :func:`reverse`, each edge flipped. Each
    reverse type comes right after its forward type, so the order of the types (and
    with it the model's parameter order) is that of ``edges``.

    Args:
        edges: edge type -> [2, E] (source, destination) indices.

    Returns:
        edge type -> [2, E] for every given type and, after it, its reverse.
    """
    out: dict[EdgeType, Tensor] = {}
    for edge_type, edge_index in edges.items():
        out[edge_type] = edge_index
        out[reverse(edge_type)] = edge_index.flip(0)
    return out
