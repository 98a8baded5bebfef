"""The store's session layer: drivers, transactions, and driver errors as kgrec's.

:class:`~kgrec.graph.store.GraphStore` is built on it, with its reads
(:mod:`kgrec.graph._reads`) and writes (:mod:`kgrec.graph._writes`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, LiteralString, TypeVar

import neo4j
from neo4j import ManagedTransaction
from neo4j import exceptions as neo4j_errors

from kgrec.errors import (
    GraphConnectionError,
    QueryError,
    invalid_choice,
)
from kgrec.graph import _queries as q
from kgrec.graph._reconnect import Follower
from kgrec.typing import (
    NODE_LABELS,
    NodeLabel,
)

T = TypeVar("T")


def _batches(rows: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


Refusal = Literal["write", "database", "forbidden"]
"""Why the server refused an exploration query (:func:`_refusal`)."""


def _refusal(error: neo4j_errors.Neo4jError) -> Refusal | None:
    """Why the server refused the read-only exploration path a query; None: it did not.

    ``write``: Neo4j's access-mode error, a write in a read transaction.
    ``database``: the read-only account may not use the database at all.
    ``forbidden``: any other Security.Forbidden, such as ArcadeDB's refusal of a
    write to the read-only account, or a privilege the account lacks (a
    procedure, ``SHOW INDEXES`` on Neo4j): the server does not say which.
    """
    code = error.code or ""
    if "AccessMode" in code:
        return "write"
    if "Security.Forbidden" not in code:
        return None
    message = (error.message or "").lower()
    if "access to database" in message or "database access is not allowed" in message:
        return "database"
    return "forbidden"


def _check_label(label: str) -> NodeLabel:
    if label not in NODE_LABELS:
        raise invalid_choice("label", label, NODE_LABELS)
    return label


@dataclass(frozen=True)
class StoreOptions:
    """Batch and page sizes and the timeout of a :class:`GraphStore`.

    Attributes:
        write_batch_size: rows per UNWIND batch of an upsert.
        read_page_size: rows per page of a paged read.
        query_timeout_s: per-transaction timeout of :meth:`GraphStore.cypher`.
    """

    write_batch_size: int
    read_page_size: int
    query_timeout_s: float


class _Session:
    """The drivers a store talks through, and its transactions.

    Args:
        driver: a connected neo4j driver.
        database: the database every session uses.
        uri: the server URI, for messages.
        options: batch and page sizes, timeout.
        reader: a driver logged in as a read-only account (default: ``driver`` in
            read access mode).
    """

    def __init__(
        self,
        driver: neo4j.Driver,
        database: str,
        uri: str,
        options: StoreOptions,
        *,
        reader: neo4j.Driver | None = None,
    ) -> None:
        self._driver = driver
        self._reader = reader
        self.database = database
        self.options = options
        self.uri = uri
        self._follower: Follower | None = None
        self._retired: list[neo4j.Driver] = []

    def close(self) -> None:
        """Close the drivers and their connections."""
        self._driver.close()
        if self._reader is not None:
            self._reader.close()
        for driver in self._retired:
            driver.close()

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn driver errors into kgrec's: a lost server, or a rejected statement."""
        try:
            yield
        except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired) as e:
            raise GraphConnectionError(f"lost the graph server at {self.uri}: {e}") from e
        except neo4j_errors.Neo4jError as e:
            raise QueryError(f"the graph server rejected {action}: {e.message}") from e

    def _write(self, work: Callable[[ManagedTransaction], T]) -> T:
        with self._errors("a write"), self._driver.session(database=self.database) as session:
            return session.execute_write(work)

    def _read(self, query: LiteralString, **params: Any) -> list[dict[str, Any]]:
        def work(tx: ManagedTransaction) -> list[dict[str, Any]]:
            return [r.data() for r in tx.run(query, params)]

        with self._errors("a read"), self._driver.session(database=self.database) as session:
            return session.execute_read(work)

    def _read_plain(self, query: LiteralString, **params: Any) -> list[dict[str, Any]]:
        """:meth:`_read` for statements that return no node, relationship or path.

        The values as the driver decoded them (no per-value conversion; a hot path).
        """

        def work(tx: ManagedTransaction) -> list[dict[str, Any]]:
            result = tx.run(query, params)
            keys = result.keys()
            return [dict(zip(keys, r.values(), strict=True)) for r in result]

        with self._errors("a read"), self._driver.session(database=self.database) as session:
            return session.execute_read(work)

    def ping(self) -> bool:
        """True when the server answers a trivial query."""
        try:
            return bool(self._read(q.PING)[0]["ok"] == 1)
        except GraphConnectionError:
            return False
