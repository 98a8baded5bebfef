"""The graph layer: the only code that speaks Cypher.

Public API: :func:`open_graph` (connect, or run the embedded server), the
:class:`GraphStore` adapter, the :class:`EmbeddedServer` manager, the exploration
guard and the row types the upserts take.
"""

from graph.embedded import EmbeddedServer, ServerStatus
from graph.guard import ensure_read_only
from graph.records import (
    BrandRow,
    CategoryRow,
    EntityLinkRow,
    EntityRow,
    InteractionRow,
    ProductRow,
    TripleRow,
    UpsertCounts,
    UserRow,
)
from graph.session import open_graph
from graph.store import GraphStore

__all__ = [
    "BrandRow",
    "CategoryRow",
    "EmbeddedServer",
    "EntityLinkRow",
    "EntityRow",
    "GraphStore",
    "InteractionRow",
    "ProductRow",
    "ServerStatus",
    "TripleRow",
    "UpsertCounts",
    "UserRow",
    "ensure_read_only",
    "open_graph",
]
