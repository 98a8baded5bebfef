"""GraphStore: kgrec's one adapter over the official neo4j driver.

The same class talks to Neo4j 5 and to the embedded ArcadeDB Bolt server. Every
statement comes from :mod:`kgrec.graph._queries`; values travel as parameters.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, LiteralString, TypeVar, cast

import neo4j
import networkx as nx
import pandas as pd
from neo4j import GraphDatabase, ManagedTransaction
from neo4j import exceptions as neo4j_errors

from kgrec.errors import (
    ConfigError,
    GraphConnectionError,
    QueryError,
    WriteQueryRejectedError,
    invalid_choice,
)
from kgrec.graph import _queries as q
from kgrec.graph._reconnect import Follower, answers
from kgrec.graph._results import end_node_ids, plain
from kgrec.graph._upserts import (
    BRAND_LINK,
    CATEGORY_LINK,
    NodeRow,
    brand_row,
    category_row,
    combine,
    entity_row,
    plan,
    product_row,
    user_row,
)
from kgrec.graph.guard import ensure_read_only
from kgrec.graph.records import (
    BrandRow,
    CategoryRow,
    EntityLinkRow,
    EntityRow,
    ForgottenUser,
    InteractionRow,
    PairLinks,
    ProductRow,
    SharedLink,
    TripleRow,
    UpsertCounts,
    UserRow,
)
from kgrec.typing import (
    BRAND,
    CATEGORY,
    CONTENT_HASH,
    DEFAULT_KIND_WEIGHTS,
    ENTITY,
    ID,
    NODE_LABELS,
    PRODUCT,
    PRODUCT_PROPERTIES,
    REL_TYPES,
    USER,
    NodeLabel,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
_MAX_HOPS: Final = 3
_MAX_SAMPLED_HOPS: Final = 4  # the GNN's most layers (gnn_layers <= 4)
# Node properties that are not a product's attrs in a row read back.
_NOT_ATTRS: Final = frozenset({ID, CONTENT_HASH, *PRODUCT_PROPERTIES})


def _batches(rows: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _refused_as_write(error: neo4j_errors.Neo4jError) -> bool:
    """True for the server's refusal of a write.

    ArcadeDB's Forbidden for the read-only account, Neo4j's access-mode error in a read transaction.
    """
    code = error.code or ""
    return "Security.Forbidden" in code or "AccessMode" in code


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


class GraphStore:
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

    def close(self) -> None:
        """Close the drivers and their connections."""
        self._driver.close()
        if self._reader is not None:
            self._reader.close()
        for driver in self._retired:
            driver.close()

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

    # Writes --------------------------------------------------------------------
    def _upsert_nodes(
        self,
        label: NodeLabel,
        rows: Iterable[NodeRow],
        replace: bool,
        links: Callable[[ManagedTransaction, Sequence[NodeRow]], None] | None = None,
    ) -> UpsertCounts:
        """Upsert node rows in batches; each batch is one transaction.

        In that transaction the batch's existing nodes are read, compared with the
        rows (:func:`kgrec.graph._upserts.plan`) and only created and changed nodes are
        written, each with only its changed keys. Rows repeating an id are combined
        first (:func:`kgrec.graph._upserts.combine`), so each id is written and counted once.
        """
        combined = combine(rows, replace=replace)
        counts = UpsertCounts()
        for batch in _batches(combined, self.options.write_batch_size):

            def work(tx: ManagedTransaction, batch: Sequence[NodeRow] = batch) -> UpsertCounts:
                result = tx.run(q.NODE_STATE[label], ids=[r.id for r in batch])
                state = {rec["id"]: rec.data() for rec in result}
                batch_plan = plan(batch, state, replace=replace)
                if batch_plan.writes:
                    tx.run(q.UPSERT_NODES[label], rows=batch_plan.writes).consume()
                if links is not None and batch_plan.relink:
                    links(tx, batch_plan.relink)
                return batch_plan.counts

            counts += self._write(work)
        return counts

    def upsert_products(self, rows: Sequence[ProductRow], *, replace: bool = False) -> UpsertCounts:
        """Create or update products, their brand and category links.

        Merge (default): each property the row carries (core fields and ``attrs``
        keys) is written, one given as None is removed, the others are left as they
        are. ``replace=True``: the product keeps exactly the row's non-None keys.
        Links, in both modes: the brand and the category set are replaced by the
        row's when ``brand_id`` / ``category_ids`` are given (not None); brands and
        categories a row names are created when missing (name = ``brand_name`` or
        the id). A row counts as updated when a property or a link changes.
        """

        def write_links(tx: ManagedTransaction, batch: Sequence[NodeRow]) -> None:
            brands: dict[str, str] = {}
            categories: set[str] = set()
            brand_links, category_links = [], []
            for row in batch:
                if BRAND_LINK in row.links:
                    brand = row.links[BRAND_LINK][0]
                    brands[brand] = row.source.get("brand_name") or brand
                    brand_links.append({"product_id": row.id, "brand_id": brand})
                if CATEGORY_LINK in row.links:
                    categories.update(row.links[CATEGORY_LINK])
                    category_links.append(
                        {"product_id": row.id, "category_ids": row.links[CATEGORY_LINK]}
                    )
            if brands:
                brand_rows = [{"id": b, "name": n} for b, n in brands.items()]
                tx.run(q.ENSURE_BRANDS, rows=brand_rows).consume()
                tx.run(q.SET_PRODUCT_BRAND, rows=brand_links).consume()
            if categories:
                tx.run(
                    q.ENSURE_CATEGORIES,
                    rows=[{"id": c, "name": c, "path": None} for c in sorted(categories)],
                ).consume()
            if category_links:
                tx.run(q.SET_PRODUCT_CATEGORIES, rows=category_links).consume()

        return self._upsert_nodes(
            PRODUCT, map(product_row, rows), replace=replace, links=write_links
        )

    def upsert_brands(self, rows: Sequence[BrandRow], *, replace: bool = False) -> UpsertCounts:
        """Create or update brands (merge or replace, as :meth:`upsert_products`).

        A row without ``name`` names a new brand by its id and leaves an existing
        brand's name as it is (``replace=True``: names it by its id).
        """
        unnamed = [r["id"] for r in rows if r.get("name") is None]
        kept = self.existing_ids(BRAND, unnamed) if unnamed and not replace else set()
        named: list[BrandRow] = [
            r if r.get("name") is not None or r["id"] in kept else {"id": r["id"], "name": r["id"]}
            for r in rows
        ]
        return self._upsert_nodes(BRAND, map(brand_row, named), replace=replace)

    def upsert_categories(
        self, rows: Sequence[CategoryRow], *, replace: bool = False
    ) -> UpsertCounts:
        """Create or update categories and their ``SUBCATEGORY_OF`` parent links.

        Properties merge or are replaced as in :meth:`upsert_products`. A row's
        ``parent_id``, when given, replaces the category's parent (a changed parent
        counts as updated). Parents are written after every category node, so rows
        may come in any order as long as every parent is among the rows or already
        in the graph.
        """
        counts = self._upsert_nodes(CATEGORY, map(category_row, rows), replace=replace)
        parents = [{"id": r["id"], "parent_id": r["parent_id"]} for r in rows if r.get("parent_id")]
        self._write_links(q.SET_CATEGORY_PARENT, parents)
        return counts

    def upsert_users(self, rows: Sequence[UserRow], *, replace: bool = False) -> UpsertCounts:
        """Create or update users; ``attrs`` keys are their properties.

        Merge (default): ``{"id": u}`` creates a missing user and leaves an existing
        one as it is. ``replace=True``: the user keeps exactly the row's non-None attrs.
        """
        return self._upsert_nodes(USER, map(user_row, rows), replace=replace)

    def upsert_entities(self, rows: Sequence[EntityRow], *, replace: bool = False) -> UpsertCounts:
        """Create or update knowledge-graph entities (id, kind, name), merge or replace."""
        return self._upsert_nodes(ENTITY, map(entity_row, rows), replace=replace)

    def upsert_interactions(self, rows: Sequence[InteractionRow]) -> UpsertCounts:
        """Write interactions; (user, product, kind, ts) identifies one, so re-sending is a no-op.

        Users and products must exist (the loaders check this and reject the row).
        A new interaction's ``weight`` defaults to the kind's weight in
        :data:`kgrec.typing.DEFAULT_KIND_WEIGHTS`; re-sending one without ``value`` or
        ``weight`` keeps the stored ones, and one that changes them counts as updated.
        """
        counts = UpsertCounts()
        for batch in _batches(rows, self.options.write_batch_size):
            params = [
                {
                    "user_id": r["user_id"],
                    "product_id": r["product_id"],
                    "kind": r["kind"],
                    "ts": int(r["ts"]),
                    "value": r.get("value"),
                    "weight": r.get("weight"),
                    "default_weight": DEFAULT_KIND_WEIGHTS.get(r["kind"], 1.0),
                }
                for r in batch
            ]

            def work(tx: ManagedTransaction, params: list[dict[str, Any]] = params) -> UpsertCounts:
                rec = tx.run(q.UPSERT_INTERACTIONS, rows=params).single(strict=True)
                created, updated = int(rec["created"]), int(rec["updated"])
                return UpsertCounts(created, updated, len(params) - created - updated)

            counts += self._write(work)
        return counts

    def link_entities(self, rows: Sequence[EntityLinkRow]) -> int:
        """MERGE ``(:Product)-[:HAS_ENTITY {relation}]->(:Entity)``; returns rows written."""
        return self._write_links(q.LINK_PRODUCT_ENTITIES, [dict(r) for r in rows])

    def relate_entities(self, rows: Sequence[TripleRow]) -> int:
        """MERGE ``(:Entity)-[:RELATED {relation}]->(:Entity)``; returns rows written."""
        return self._write_links(q.RELATE_ENTITIES, [dict(r) for r in rows])

    def _write_links(self, statement: LiteralString, rows: list[dict[str, Any]]) -> int:
        written = 0
        for batch in _batches(rows, self.options.write_batch_size):

            def work(tx: ManagedTransaction, batch: Sequence[dict[str, Any]] = batch) -> int:
                return int(tx.run(statement, rows=list(batch)).single(strict=True)["n"])

            written += self._write(work)
        return written

    def delete_user(self, user_id: str) -> ForgottenUser | None:
        """Delete a user node and every relationship of it (its interactions).

        One write transaction.

        Returns:
            What the node held (its properties, its relationship count), or None when
            the graph has no such user (nothing was written).
        """

        def work(tx: ManagedTransaction) -> ForgottenUser | None:
            rows = [r.data() for r in tx.run(q.USER_TO_FORGET, user_id=user_id)]
            if not rows:
                return None
            tx.run(q.FORGET_USER, user_id=user_id).consume()
            return ForgottenUser(dict(rows[0]["props"] or {}), int(rows[0]["relationships"]))

        return self._write(work)

    def delete_all(self) -> None:
        """Delete every node and relationship of the database (tests, `kgrec graph reset`)."""
        self._write(lambda tx: tx.run(q.DELETE_ALL).consume())

    # Reads ---------------------------------------------------------------------
    def count_nodes(self) -> dict[str, int]:
        """Node count per label (every kgrec label present, zeros included)."""
        counts: dict[str, int] = dict.fromkeys(NODE_LABELS, 0)
        for r in self._read(q.COUNT_NODES):
            counts[r["label"]] = int(r["n"])
        return counts

    def count_relationships(self) -> dict[str, int]:
        """Relationship count per type (every kgrec type present, zeros included)."""
        counts: dict[str, int] = dict.fromkeys(REL_TYPES, 0)
        for r in self._read(q.COUNT_RELS):
            counts[r["type"]] = int(r["n"])
        return counts

    def existing_ids(self, label: str, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` exist as nodes of ``label``."""
        statement = q.EXISTING_IDS[_check_label(label)]
        wanted = list(dict.fromkeys(ids))
        found: set[str] = set()
        for batch in _batches(wanted, self.options.read_page_size):
            found.update(r["id"] for r in self._read(statement, ids=list(batch)))
        return found

    def nodes_by_id(self, label: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Properties of the nodes of ``label`` among ``ids`` (missing ids are absent)."""
        statement = q.NODES_BY_ID[_check_label(label)]
        out: dict[str, dict[str, Any]] = {}
        for batch in _batches(list(ids), self.options.read_page_size):
            out.update((r["id"], r["props"]) for r in self._read(statement, ids=list(batch)))
        return out

    def iter_nodes(self, label: str) -> Iterator[pd.DataFrame]:
        """All nodes of ``label`` in pages ordered by id: columns ``id``, ``props``."""
        statement = q.NODES_PAGE[_check_label(label)]
        after = ""
        while True:
            page = self._read(statement, after=after, limit=self.options.read_page_size)
            if not page:
                return
            yield pd.DataFrame(page, columns=["id", "props"])
            after = page[-1]["id"]

    def iter_ids(self, label: str) -> Iterator[list[str]]:
        """The ids of all nodes of ``label`` in pages of ``read_page_size``, ordered by id."""
        statement = q.NODE_IDS_PAGE[_check_label(label)]
        after = ""
        while True:
            page = [
                r["id"]
                for r in self._read(statement, after=after, limit=self.options.read_page_size)
            ]
            if not page:
                return
            yield page
            after = page[-1]

    def product_rows(self, ids: Sequence[str]) -> list[ProductRow]:
        """The products among ``ids`` as rows, as the graph holds them (missing ids are absent).

        Core fields from the node's properties, every other property (but the content
        hash) in ``attrs``, ``brand_id`` and ``category_ids`` from its links.
        """
        rows: list[ProductRow] = []
        for batch in _batches(list(ids), self.options.read_page_size):
            for r in self._read(q.PRODUCT_ROWS, ids=list(batch)):
                props: dict[str, Any] = dict(r["props"] or {})
                row = cast(ProductRow, {k: props[k] for k in PRODUCT_PROPERTIES if k in props})
                row["id"] = r["id"]
                row.setdefault("title", r["id"])
                row["attrs"] = {k: v for k, v in props.items() if k not in _NOT_ATTRS}
                if r["brand"]:
                    row["brand_id"] = sorted(r["brand"])[0]
                row["category_ids"] = sorted(r["categories"] or [])
                rows.append(row)
        return rows

    def iter_edges(self, rel_type: str) -> Iterator[pd.DataFrame]:
        """All relationships of one type in pages: columns ``src``, ``dst`` (+ attributes).

        Pages are taken over source nodes ordered by id (keyset pagination), so
        each page holds every edge of its source nodes. INTERACTED pages add
        ``kind``, ``ts``, ``weight``, ``value``; HAS_ENTITY and RELATED add ``relation``.
        """
        if rel_type not in REL_TYPES:
            raise invalid_choice("rel_type", rel_type, REL_TYPES)
        statement = q.EDGES_PAGE[rel_type]
        after = ""
        while True:
            rows = self._read(statement, after=after, limit=self.options.read_page_size)
            if not rows:
                return
            after = max(r["src"] for r in rows)
            frame = pd.DataFrame(rows)
            frame = frame[frame["dst"].notna()].reset_index(drop=True)
            if len(frame):
                yield frame

    def neighbourhood(self, label: str, ids: Sequence[str], hops: int = 1) -> pd.DataFrame:
        """Relationships within ``hops`` of the given nodes, both directions.

        Returns:
            DataFrame with one row per relationship seen: ``src_label``, ``src``,
            ``type``, ``outgoing`` (direction seen from src), ``dst_label``, ``dst``,
            ``props``, ``hop`` (1-based).
        """
        if not 1 <= hops <= _MAX_HOPS:
            raise invalid_choice("hops", hops, [str(h) for h in range(1, _MAX_HOPS + 1)])
        frontier: dict[str, set[str]] = {_check_label(label): set(ids)}
        seen = {(label, i) for i in ids}
        frames = []
        for hop in range(1, hops + 1):
            next_frontier: dict[str, set[str]] = {}
            for src_label, src_ids in frontier.items():
                rows = self._read(q.NEIGHBOURS[cast(NodeLabel, src_label)], ids=sorted(src_ids))
                for r in rows:
                    r["src_label"] = src_label
                    r["dst_label"] = r.pop("dst_labels")[0]
                    r["hop"] = hop
                    key = (r["dst_label"], r["dst"])
                    if key not in seen:
                        seen.add(key)
                        next_frontier.setdefault(r["dst_label"], set()).add(r["dst"])
                frames.append(pd.DataFrame(rows))
            frontier = next_frontier
            if not frontier:
                break
        columns = ["src_label", "src", "type", "outgoing", "dst_label", "dst", "props", "hop"]
        frames = [f for f in frames if len(f)]
        if not frames:
            return pd.DataFrame(columns=columns)
        return pd.concat(frames, ignore_index=True)[columns]

    def sampled_neighbourhood(
        self, label: str, ids: Sequence[str], fanout: Sequence[int]
    ) -> pd.DataFrame:
        """A bounded neighbourhood.

        ``len(fanout)`` hops, at most ``fanout[h]`` relationships per node and relationship type
        read around each node first reached at hop ``h``.

        Which ones is deterministic for a given graph state. Around the seed nodes
        (hop 1): the most recent first (interactions, by ``ts``), then by the other
        end's id, kind, relation and direction. Further out: the first ones in the
        order the server stores them (sorting every relationship of a popular product
        would cost more than the rest of an online write). A node within the fan-out
        is read whole. Each node is expanded once, at the first hop that reaches it.

        Args:
            label: label of the seed nodes.
            ids: seed node ids.
            fanout: per hop (1 to 4 hops), the relationships kept per node and type (>= 1).

        Returns:
            DataFrame, one row per (expanded node, relationship): ``src_label``, ``src``
            (the expanded node), ``type``, ``outgoing`` (direction seen from src),
            ``dst_label``, ``dst``, ``props`` (the relationship's ``relation``, when it
            has one), ``dst_props`` (the other end's properties), ``hop`` (1-based).
        """
        if not 1 <= len(fanout) <= _MAX_SAMPLED_HOPS:
            raise invalid_choice(
                "hops", len(fanout), [str(h) for h in range(1, _MAX_SAMPLED_HOPS + 1)]
            )
        if any(f < 1 for f in fanout):
            raise ConfigError(f"fanout {list(fanout)}: every hop must keep at least 1 relationship")
        frontier: dict[str, set[str]] = {_check_label(label): set(ids)}
        seen = {(label, i) for i in ids}
        columns = [
            "src_label", "src", "type", "outgoing", "dst_label", "dst", "props", "dst_props", "hop"
        ]  # fmt: skip
        found: list[tuple[Any, ...]] = []
        for hop, limit in enumerate(fanout, start=1):
            statements = q.RECENT_NEIGHBOURS if hop == 1 else q.STORED_NEIGHBOURS
            next_frontier: dict[str, set[str]] = {}
            per_call = max(1, self.options.read_page_size // limit)
            for src_label, src_ids in frontier.items():
                statement = statements[cast(NodeLabel, src_label)]
                for batch in _batches(sorted(src_ids), per_call):
                    for row in self._read_plain(statement, ids=list(batch), limit=limit):
                        src = row["src"]
                        for rel_type, out, dst_label, dst, relation, dst_props in row["rels"]:
                            props = {} if relation is None else {"relation": relation}
                            edge = (src_label, src, rel_type, out, dst_label, dst, props)
                            found.append((*edge, dst_props, hop))
                            if (dst_label, dst) not in seen:
                                seen.add((dst_label, dst))
                                next_frontier.setdefault(dst_label, set()).add(dst)
            frontier = next_frontier
            if not frontier:
                break
        return pd.DataFrame(found, columns=columns)

    def explain_path(self, user_id: str, product_id: str) -> list[dict[str, Any]] | None:
        """The shortest path (at most 4 hops) from a user to a product, or None.

        Returns:
            Alternating node and relationship dicts: nodes have ``label``, ``id``,
            ``name``; relationships have ``type`` and ``kind`` / ``relation``.
        """
        rows = self._read(q.EXPLAIN_PATH, user_id=user_id, product_id=product_id)
        if not rows:
            return None
        nodes, rels = rows[0]["nodes"], rows[0]["rels"]
        path: list[dict[str, Any]] = []
        for i, node in enumerate(nodes):
            path.append(node)
            if i < len(rels):
                path.append({k: v for k, v in rels[i].items() if v is not None})
        return path

    def pair_links(
        self, user_id: str | None, pairs: Sequence[tuple[str, str]], limit: int = 32
    ) -> list[PairLinks]:
        """What each (history product, recommended product) pair shares, in one read.

        Args:
            user_id: the shopper whose interaction kinds with the history products
                are read (None: none).
            pairs: (via, item) product ids; a pair naming a product the graph lacks
                gives no row.
            limit: the most shared nodes kept per pair.

        Returns:
            One :class:`~kgrec.graph.records.PairLinks` per pair found: the brand,
            categories and entities both products link to by the same relationship
            type and relation, and the shopper's interaction kinds with ``via``.
        """
        if not pairs:
            return []
        rows = self._read_plain(
            q.PAIR_LINKS,
            user_id=user_id,
            pairs=[{"via": v, "item": i} for v, i in pairs],
            limit=limit,
        )
        keys = ("type", "relation", "label", "id", "name", "kind")
        return [
            PairLinks(
                via=str(r["via"]),
                item=str(r["item"]),
                shared=[cast(SharedLink, dict(zip(keys, s, strict=True))) for s in r["shared"]],
                kinds=[str(k) for k in r["kinds"] if k is not None],
            )
            for r in rows
        ]

    # Exploration ------------------------------------------------------------------
    def cypher(self, query: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run a read-only exploration query; the result as a DataFrame.

        Two walls keep this path from writing: the query is checked by
        :func:`kgrec.graph.guard.ensure_read_only`, then run in a read transaction as the
        read-only account (``reader``) when there is one, so the server itself
        refuses any write that got past the check. A node in the result becomes
        the dict of its properties; a relationship ``{"type", "start", "end",
        "properties"}`` with its end nodes' kgrec ids; a path the list of both.

        Raises:
            WriteQueryRejectedError: the query contains a write clause (nothing was
                sent), or the server refused it as a write.
            QueryError: the server rejected the query.
        """
        ensure_read_only(query)
        timeout = self.options.query_timeout_s

        def work(tx: ManagedTransaction) -> tuple[list[str], list[dict[str, Any]]]:
            # user text, guarded above; values stay parameters
            result = tx.run(query, dict(params or {}))
            keys = list(result.keys())
            rows = [list(r.values()) for r in result]
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
            if isinstance(cause, neo4j_errors.Neo4jError) and _refused_as_write(cause):
                raise WriteQueryRejectedError(
                    f"the graph server refused the query as a write on the read-only "
                    f"exploration path ({cause.message}); nothing was changed"
                ) from cause
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
