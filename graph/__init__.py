"""The graph layer: the only code that speaks Cypher.

Public API: :func:`open_graph` (connect, or run the embedded server, from the
graph settings), the :class:`GraphStore` adapter and its :class:`StoreOptions`,
the :class:`EmbeddedServer` manager and its :class:`EmbeddedOptions`, the
exploration guard and the row types the upserts take.
"""

from kgrec.graph._session import StoreOptions
from kgrec.graph.embedded import EmbeddedOptions, EmbeddedServer, ServerStatus
from kgrec.graph.guard import ensure_read_only
from kgrec.graph.records import (
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
from kgrec.graph.session import connect_store, embedded_server, open_graph, store_options
from kgrec.graph.store import GraphStore

__all__ = [
    "BrandRow",
    "CategoryRow",
    "EmbeddedOptions",
    "EmbeddedServer",
    "EntityLinkRow",
    "EntityRow",
    "GraphStore",
    "InteractionRow",
    "ProductRow",
    "ServerStatus",
    "StoreOptions",
    "TripleRow",
    "UpsertCounts",
    "UserRow",
    "connect_store",
    "embedded_server",
    "ensure_read_only",
    "open_graph",
    "store_options",
]
