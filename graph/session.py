"""open_graph: the one way kgrec code gets a GraphStore.

With ``KGREC_GRAPH__NEO4J_URI`` set it connects there. Otherwise it attaches to the
embedded server of the data directory when one runs (``kgrec graph start``), and
else starts one for the duration of the ``with`` block.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from graph._reconnect import EmbeddedFollower
from graph.embedded import EmbeddedServer
from graph.store import GraphStore
from kgrec.errors import GraphConnectionError
from kgrec.settings import Settings

log = logging.getLogger(__name__)


def _neo4j_reader_auth(settings: Settings) -> tuple[str, str] | None:
    """The read-only Neo4j account of the exploration path, when one is configured."""
    if settings.graph.neo4j_reader_user is None:
        return None
    secret = settings.graph.neo4j_reader_password
    return (settings.graph.neo4j_reader_user, secret.get_secret_value() if secret else "")


@contextlib.contextmanager
def open_graph(
    settings: Settings,
    *,
    create_schema: bool = True,
    require_answer: bool = True,
    follow: bool = False,
) -> Iterator[GraphStore]:
    """Yield a connected :class:`GraphStore`; stop an embedded server it started itself.

    Args:
        settings: kgrec settings.
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
    if settings.graph.neo4j_uri is not None:
        password = (
            settings.graph.neo4j_password.get_secret_value()
            if settings.graph.neo4j_password
            else ""
        )
        args = (
            settings.graph.neo4j_uri,
            (settings.graph.neo4j_user, password),
            settings.graph.neo4j_database,
        )
        reader = _neo4j_reader_auth(settings)
        try:
            store = GraphStore.connect(*args, settings, reader_auth=reader)
        except GraphConnectionError as e:
            if require_answer:
                raise
            log.warning("%s; starting without the graph until it answers", e)
            store = GraphStore.unchecked(*args, settings, reader_auth=reader)
            create_schema = False
    else:
        server = EmbeddedServer(settings)
        status = server.start(detach=False)
        assert status.uri is not None and status.database is not None
        try:
            store = GraphStore.connect(
                status.uri,
                server.auth,
                status.database,
                settings,
                reader_auth=server.reader_auth,
            )
        except BaseException:
            server.release()
            raise
        if follow:
            store.follow(EmbeddedFollower(settings))
    try:
        if create_schema:
            store.create_schema()
        yield store
    finally:
        store.close()
        if server is not None:
            server.release()
