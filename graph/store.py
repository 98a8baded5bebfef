"""GraphStore: kgrec's one adapter over the official neo4j driver.

The same class talks to Neo4j 5 and to the embedded ArcadeDB Bolt server. Every
statement comes from :mod:`kgrec.graph._queries`; values travel as parameters.
Its layers live in private modules, one job each: the session (drivers,
transactions, errors; :mod:`kgrec.graph._session`), the reads
(:mod:`kgrec.graph._reads`) and the writes (:mod:`kgrec.graph._writes`); this
module adds connecting, the schema and the guarded exploration.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from itertools import islice
from typing import Any

import neo4j
import networkx as nx
import pandas as pd
from neo4j import GraphDatabase, ManagedTransaction
from neo4j import exceptions as neo4j_errors

from kgrec.errors import (
    GraphConnectionError,
    GraphError,
    QueryError,
    WriteQueryRejectedError,
)
from kgrec.graph import _queries as q
from kgrec.graph._reconnect import Follower, answers
from kgrec.graph._results import end_node_ids, plain
from kgrec.graph._session import Refusal, StoreOptions, _refusal
from kgrec.graph._writes import _Writes
from kgrec.graph.guard import ensure_read_only

log = logging.getLogger(__name__)


class GraphStore(_Writes):
    """Schema, batched idempotent upserts, paged reads and guarded exploration.

    Build it with :meth:`connect` (or :func:`kgrec.graph.open_graph`, which also starts
    the embedded server when no ``KGREC_GRAPH__NEO4J_URI`` is set). Close it when done, or
    use it as a context manager.

    Args:
        driver: a connected neo4j driver.
        database: the database every session uses.
        uri: the server URI, for messages.
        options: batch and page sizes, timeout.
        reader: a driver logged in as a read-only account, used by :meth:`cypher`
            (the embedded server's ``kgrec_reader``, or a Neo4j user with the
            ``reader`` role); default: ``driver`` in read access mode.
    """

    # Connection ----------------------------------------------------------------
    @classmethod
    def connect(
        cls,
        uri: str,
        auth: tuple[str, str],
        database: str,
        options: StoreOptions,
        *,
        retries: int,
        backoff_s: float,
        embedded: bool,
        reader_auth: tuple[str, str] | None = None,
    ) -> GraphStore:
        """Connect and check the server answers, retrying with exponential backoff.

        Args:
            uri: Bolt URI of the server.
            auth: (user, password) of the main account.
            database: the database to use on that server.
            options: batch and page sizes, timeout.
            retries: extra connection attempts.
            backoff_s: first retry delay, doubled each try.
            embedded: the server is kgrec's embedded one (for the hint of the error).
            reader_auth: credentials of a read-only account for :meth:`cypher`.

        Raises:
            GraphConnectionError: nothing answers at ``uri`` after the retries, or
                the credentials are refused.
        """
        store = cls.unchecked(uri, auth, database, options, reader_auth=reader_auth)
        driver = store._driver
        delay = backoff_s
        for attempt in range(retries + 1):
            try:
                with driver.session(database=database) as session:
                    session.run(q.PING).consume()
                return store
            except neo4j_errors.AuthError as e:
                store.close()
                raise GraphConnectionError(
                    f"the graph server at {uri} refused the credentials for user {auth[0]!r}: "
                    f"{e.message}; check KGREC_GRAPH__NEO4J_USER / KGREC_GRAPH__NEO4J_PASSWORD"
                ) from e
            except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired, OSError) as e:
                if attempt == retries:
                    store.close()
                    hint = (
                        "start it with `kgrec graph start`"
                        if embedded
                        else "check that Neo4j runs there and KGREC_GRAPH__NEO4J_URI is right"
                    )
                    raise GraphConnectionError(
                        f"no graph server answers at {uri} after {attempt + 1} attempts ({e}); "
                        f"{hint}"
                    ) from e
                log.info("graph server at %s not answering yet (%s); retrying", uri, e)
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    @classmethod
    def unchecked(
        cls,
        uri: str,
        auth: tuple[str, str],
        database: str,
        options: StoreOptions,
        *,
        reader_auth: tuple[str, str] | None = None,
    ) -> GraphStore:
        """A store whose driver connects on first use, without checking the server answers.

        The service starts degraded and recovers when :meth:`reachable` turns true.
        """
        reader = None
        if reader_auth is not None:
            reader = GraphDatabase.driver(uri, auth=reader_auth, connection_timeout=10.0)
        return cls(
            GraphDatabase.driver(uri, auth=auth, connection_timeout=10.0),
            database,
            uri,
            options,
            reader=reader,
        )

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Schema --------------------------------------------------------------------
    def create_schema(self) -> None:
        """Create uniqueness constraints on every label's ``id`` and the indexes (idempotent)."""
        for statement in q.SCHEMA:
            try:
                with self._driver.session(database=self.database) as session:
                    session.run(statement).consume()
            except neo4j_errors.Neo4jError as e:
                raise QueryError(
                    f"could not apply schema statement {statement!r}: {e.message}"
                ) from e

    def constraints(self) -> pd.DataFrame:
        """The server's constraints as a DataFrame (name, labelsOrTypes, properties, ...)."""
        with self._driver.session(database=self.database) as session:
            return pd.DataFrame([r.data() for r in session.run(q.SHOW_CONSTRAINTS)])

    # Exploration ------------------------------------------------------------------
    def cypher(
        self, query: str, params: Mapping[str, Any] | None = None, *, max_rows: int | None = None
    ) -> pd.DataFrame:
        """Run a read-only exploration query; the result as a DataFrame.

        With ``max_rows``, at most that many rows plus one are read (the rest is
        left on the server), so a caller can tell that the result was cut.

        Two walls keep this path from writing: the query is checked by
        :func:`kgrec.graph.guard.ensure_read_only`, then run in a read transaction as the
        read-only account (``reader``) when there is one, so the server itself
        refuses any write that got past the check. ArcadeDB ignores a
        transaction's read access mode: against an ArcadeDB server given by URI
        without a reader account, the check is the only wall. A node in the result becomes
        the dict of its properties; a relationship ``{"type", "start", "end",
        "properties"}`` with its end nodes' kgrec ids; a path the list of both.

        Raises:
            WriteQueryRejectedError: the query contains a write clause (nothing was
                sent), or the server refused it as a write or forbade it to the
                read-only account (the message says which it can tell).
            QueryError: the server rejected the query, or a parameter cannot be sent,
                or the read-only account may not use the database.
        """
        ensure_read_only(query)
        timeout = self.options.query_timeout_s

        def work(tx: ManagedTransaction) -> tuple[list[str], list[dict[str, Any]]]:
            try:  # user text, guarded above; values stay parameters
                result = tx.run(query, dict(params or {}))
            except (OverflowError, TypeError, ValueError) as e:  # the driver packing them
                raise QueryError(
                    f"the query's parameters ({', '.join(map(str, params or {}))}) cannot be "
                    f"sent to the graph server: {e} (Bolt carries null, booleans, 64-bit "
                    "integers, floats, strings, bytes, temporal values, lists and maps)"
                ) from e
            keys = list(result.keys())
            records = result if max_rows is None else islice(result, max_rows + 1)
            rows = [list(r.values()) for r in records]
            ids = end_node_ids(tx, rows)
            return keys, [dict(zip(keys, plain(row, ids), strict=True)) for row in rows]

        work_with_timeout = neo4j.unit_of_work(timeout=timeout)(work)
        driver = self._reader or self._driver
        try:
            with (
                self._errors("the query"),
                driver.session(
                    database=self.database, default_access_mode=neo4j.READ_ACCESS
                ) as session,
            ):
                keys, rows = session.execute_read(work_with_timeout)
        except QueryError as e:
            cause = e.__cause__
            if isinstance(cause, neo4j_errors.AuthError) and self._reader is not None:
                raise GraphConnectionError(
                    f"the graph server at {self.uri} refused the read-only exploration "
                    f"account ({cause.message}); an embedded server started by an older "
                    "kgrec lacks it: restart it (`kgrec graph stop && kgrec graph start`), "
                    "or check KGREC_GRAPH__NEO4J_READER_USER / KGREC_GRAPH__NEO4J_READER_PASSWORD"
                ) from cause
            if isinstance(cause, neo4j_errors.Neo4jError) and (refusal := _refusal(cause)):
                reason = cause.message or str(cause)
                raise _refused(refusal, self.uri, self.database, reason) from cause
            raise
        return pd.DataFrame(rows, columns=keys)

    def to_networkx(self, label: str, ids: Sequence[str], hops: int = 1) -> nx.MultiDiGraph[str]:
        """The subgraph within ``hops`` of the given nodes as a networkx MultiDiGraph.

        Nodes are keyed ``"Label:id"`` with attributes ``label``, ``id`` and the
        node's properties; edges carry ``type`` and the relationship's properties.
        """
        edges = self.neighbourhood(label, ids, hops)
        graph: nx.MultiDiGraph[str] = nx.MultiDiGraph()
        members: dict[str, set[str]] = {label: set(ids)}
        for row in edges.itertuples(index=False):
            members.setdefault(str(row.src_label), set()).add(str(row.src))
            members.setdefault(str(row.dst_label), set()).add(str(row.dst))
        for node_label, node_ids in members.items():
            for node_id, props in self.nodes_by_id(node_label, sorted(node_ids)).items():
                graph.add_node(f"{node_label}:{node_id}", **{**props, "label": node_label})
        for edge in edges.to_dict("records"):
            src = f"{edge['src_label']}:{edge['src']}"
            dst = f"{edge['dst_label']}:{edge['dst']}"
            if not edge["outgoing"]:
                src, dst = dst, src
            attrs: dict[str, Any] = edge["props"] or {}
            key = f"{edge['type']}:{json.dumps(attrs, sort_keys=True, default=str)}"
            if not graph.has_edge(src, dst, key=key):
                graph.add_edge(src, dst, key=key, type=edge["type"], **attrs)
        return graph

    def reachable(self) -> bool:
        """True when the server answers a transaction now (one try, no retries).

        A real round trip (BEGIN, ``RETURN 1``, COMMIT, as a write begins), not only a
        handshake: a server that accepts connections but refuses transactions (one
        shutting down, say) is not reachable. Unlike :meth:`ping` this does not go
        through the driver's transaction retries (up to 30 s), so the API can answer
        503 at once while the server is gone. A store that follows a server
        (:meth:`follow`) is first re-pointed at it when it restarted elsewhere.
        """
        if self._follower is not None:
            self._follower(self)
        return answers(self._driver, self.database)

    def follow(self, follower: Follower) -> None:
        """Call ``follower`` before each :meth:`reachable` check.

        It re-points the store (:meth:`repoint`) when its server restarted, and returns True when it
        did.
        """
        self._follower = follower

    def repoint(
        self, uri: str, auth: tuple[str, str], *, reader_auth: tuple[str, str] | None = None
    ) -> None:
        """Talk to the server at ``uri`` from now on, with new drivers.

        The store object stays, so every holder of it follows. The old drivers are
        closed with the store: a request still using them fails as it would have on
        the lost server.
        """
        fresh = GraphStore.unchecked(
            uri, auth, self.database, self.options, reader_auth=reader_auth
        )
        self._retired.append(self._driver)
        if self._reader is not None:
            self._retired.append(self._reader)
        self._driver, self._reader, self.uri = fresh._driver, fresh._reader, uri
        log.info("graph store now talks to %s", uri)


def _refused(refusal: Refusal, uri: str, database: str, reason: str) -> GraphError:
    """The error of an exploration query the server refused (:func:`_refusal`)."""
    if refusal == "database":
        return QueryError(
            f"the graph server at {uri} does not let the read-only exploration account "
            f"use database '{database}' ({reason}); nothing was run. Check "
            "KGREC_GRAPH__NEO4J_DATABASE and that KGREC_GRAPH__NEO4J_READER_USER may access "
            "it (an embedded server grants its own database at `kgrec graph start`)"
        )
    if refusal == "write":
        return WriteQueryRejectedError(
            f"the graph server refused the query as a write on the read-only exploration "
            f"path ({reason}); nothing was changed"
        )
    return WriteQueryRejectedError(
        f"the graph server forbade this query to the read-only exploration account "
        f"({reason}): it writes, or needs a privilege the account lacks (a procedure, "
        "SHOW on Neo4j); nothing was changed"
    )
