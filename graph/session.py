"""open_graph: the one way kgrec code gets a GraphStore from the graph settings.

With ``KGREC_GRAPH__NEO4J_URI`` set it connects there. Otherwise it attaches to
the embedded server of the data directory when one runs (``kgrec graph start``),
and else starts one for the duration of the ``with`` block. The graph section of
the settings is turned into the explicit options of :class:`GraphStore` and
:class:`EmbeddedServer` here, and nowhere else.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from kgrec.errors import GraphConnectionError
from kgrec.graph._reconnect import EmbeddedFollower
from kgrec.graph._session import StoreOptions
from kgrec.graph.embedded import EmbeddedOptions, EmbeddedServer
from kgrec.graph.store import GraphStore
from kgrec.settings import GraphSettings

log = logging.getLogger(__name__)


def store_options(graph: GraphSettings) -> StoreOptions:
    """The batch and page sizes and the timeout the graph settings name."""
    return StoreOptions(
        write_batch_size=graph.write_batch_size,
        read_page_size=graph.read_page_size,
        query_timeout_s=graph.query_timeout_s,
    )


def embedded_server(graph: GraphSettings, data_dir: Path) -> EmbeddedServer:
    """The embedded server of ``data_dir``, run as the graph settings say."""
    options = EmbeddedOptions(
        database=graph.embedded_database,
        heap_mb=graph.embedded_heap_mb,
        bolt_port=graph.embedded_bolt_port,
        http_port=graph.embedded_http_port,
        start_timeout_s=graph.embedded_start_timeout_s,
        min_free_mb=graph.embedded_min_free_mb,
        query_timeout_s=graph.query_timeout_s,
    )
    return EmbeddedServer(data_dir, options)


def connect_store(
    graph: GraphSettings,
    uri: str,
    auth: tuple[str, str],
    database: str,
    *,
    reader_auth: tuple[str, str] | None = None,
) -> GraphStore:
    """:meth:`GraphStore.connect` with the retries and options of the graph settings."""
    return GraphStore.connect(
        uri,
        auth,
        database,
        store_options(graph),
        retries=graph.connect_retries,
        backoff_s=graph.connect_backoff_s,
        embedded=graph.embedded,
        reader_auth=reader_auth,
    )


def _neo4j_reader_auth(graph: GraphSettings) -> tuple[str, str] | None:
    """The read-only Neo4j account of the exploration path, when one is configured."""
    if graph.neo4j_reader_user is None:
        return None
    secret = graph.neo4j_reader_password
    return (graph.neo4j_reader_user, secret.get_secret_value() if secret else "")


@contextlib.contextmanager
def open_graph(
    graph: GraphSettings,
    data_dir: Path,
    *,
    create_schema: bool = True,
    require_answer: bool = True,
    follow: bool = False,
) -> Iterator[GraphStore]:
    """Yield a connected :class:`GraphStore`; stop an embedded server it started itself.

    Args:
        graph: the graph settings (server, credentials, retries, sizes).
        data_dir: the data directory of the embedded server.
        create_schema: apply constraints and indexes first (idempotent).
        require_answer: with ``False``, a configured Neo4j that does not answer yields
            an unchecked store (no schema step) instead of raising, so a service can
            start degraded and recover when the server comes back.
        follow: with the embedded server, follow its restarts: when it does not answer,
            :meth:`GraphStore.reachable` re-reads its state file and re-points the store
            at the server running now (for a long-lived process: ``kgrec serve``).

    Raises:
        GraphConnectionError: nothing answers (unless ``require_answer`` is False
            and a Neo4j URI is configured).
    """
    server: EmbeddedServer | None = None
    if graph.neo4j_uri is not None:
        password = graph.neo4j_password.get_secret_value() if graph.neo4j_password else ""
        auth = (graph.neo4j_user, password)
        reader = _neo4j_reader_auth(graph)
        try:
            store = connect_store(
                graph, graph.neo4j_uri, auth, graph.neo4j_database, reader_auth=reader
            )
        except GraphConnectionError as e:
            if require_answer:
                raise
            log.warning("%s; starting without the graph until it answers", e)
            store = GraphStore.unchecked(
                graph.neo4j_uri,
                auth,
                graph.neo4j_database,
                store_options(graph),
                reader_auth=reader,
            )
            create_schema = False
    else:
        server = embedded_server(graph, data_dir)
        status = server.start(detach=False)
        assert status.uri is not None and status.database is not None
        try:
            store = connect_store(
                graph, status.uri, server.auth, status.database, reader_auth=server.reader_auth
            )
        except BaseException:
            server.release()
            raise
        if follow:
            store.follow(EmbeddedFollower(embedded_server(graph, data_dir)))
    try:
        if create_schema:
            store.create_schema()
        yield store
    finally:
        store.close()
        if server is not None:
            server.release()
