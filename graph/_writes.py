"""The store's writes: batched idempotent upserts, links, and deletes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, LiteralString, cast

import neo4j
from neo4j import ManagedTransaction

from kgrec.errors import GraphConnectionError, NotFoundError, QueryError
from kgrec.graph import _queries as q
from kgrec.graph._reads import _Reads
from kgrec.graph._session import _batches
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
from kgrec.graph.records import (
    BrandRow,
    CategoryRow,
    EntityLinkRow,
    EntityRow,
    ForgottenUser,
    InteractionRow,
    ProductRow,
    TripleRow,
    UpsertCounts,
    UserRow,
)
from kgrec.typing import (
    BRAND,
    CATEGORY,
    DEFAULT_KIND_WEIGHTS,
    ENTITY,
    PRODUCT,
    USER,
    NodeLabel,
)

log = logging.getLogger(__name__)
DELETE_BATCH: Final = 10_000
"""Nodes :meth:`_Writes.delete_all` deletes per write transaction."""
CREATE_RETRIES: Final = 3
"""Runs of a node batch again after another writer created one of its nodes."""
_NEO4J_UNIQUE: Final = "Neo.ClientError.Schema.ConstraintValidationFailed"
_GONE: Final = "Neo.ClientError.Statement.EntityNotFound"


class _Writes(_Reads):
    """Batched idempotent upserts of every node and relationship kind, and deletes."""

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

            counts += self._write_creating(work)
        return counts

    def _write_creating(self, work: Callable[[ManagedTransaction], UpsertCounts]) -> UpsertCounts:
        """:meth:`_write` of a node batch, again when another writer changed it meanwhile.

        Two writers that both read no node of an id both create it; the unique index
        refuses the later commit. Two writers relinking one product both read its
        links; the later to delete one the other deleted meanwhile is refused
        (EntityNotFound). Run again, the batch reads the graph as it is now.
        """
        for attempt in range(CREATE_RETRIES + 1):
            try:
                return self._write(work)
            except QueryError as e:
                if attempt == CREATE_RETRIES or not _changed_meanwhile(e):
                    raise
                log.debug("the batch was changed meanwhile; writing it again: %s", e)
        raise AssertionError("unreachable")

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
            ids = [row.id for row in batch]  # two writers relinking one product conflict
            tx.run(q.TOUCH_PRODUCT_BRANDS, ids=ids).consume()
            tx.run(q.TOUCH_PRODUCT_CATEGORIES, ids=ids).consume()
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
        self._write_batches(q.SET_CATEGORY_PARENT, parents)
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

    def upsert_interactions(
        self, rows: Sequence[InteractionRow], *, race_safe: bool = True, atomic: bool = False
    ) -> UpsertCounts:
        """Write interactions; (user, product, kind, ts) identifies one, so re-sending is a no-op.

        Users and products must exist (the loaders check this and reject the row);
        a batch naming one the graph lacks is not written (:class:`NotFoundError`).
        A new interaction's ``weight`` defaults to the kind's weight in
        :data:`kgrec.typing.DEFAULT_KIND_WEIGHTS`; re-sending one without ``value`` or
        ``weight`` keeps the stored ones, and one that changes them counts as updated.
        Rows of one interaction in one call are written once, as in their order (the
        last ``value`` and ``weight`` given win), and the repeats count as unchanged.
        Writers sending one interaction at once store it once: the embedded server
        lets two transactions that each found none both create it, so each call
        removes, once committed, all but one of each interaction it created
        (``race_safe``) or found stored twice; both such writers count it as
        created. A bulk import passes ``race_safe=False``: the clean-up of what it
        created cost it a third of its write rate, and an event it and another
        writer stored at the same instant is made one at its next send. A clean-up
        the lost graph stops is logged, not raised: the rows are written, and a
        copy left is made one at its next send.

        With ``atomic`` every batch is written in one transaction, so an error
        writes none of ``rows`` (an online request, whose client sends it again);
        otherwise each batch commits on its own (an import, restartable).

        Raises:
            NotFoundError: a row names a user or product the graph lacks (nothing of
                its batch, or with ``atomic`` of ``rows``, was written).
        """
        unique = _one_row_per_interaction(rows)
        counts = UpsertCounts(unchanged=len(rows) - len(unique))
        batches = [_interaction_params(b) for b in _batches(unique, self.options.write_batch_size)]
        for group in [batches] if atomic else [[b] for b in batches]:

            def work(
                tx: ManagedTransaction, group: list[list[dict[str, Any]]] = group
            ) -> tuple[UpsertCounts, list[dict[str, Any]]]:
                counts, recheck = UpsertCounts(), []
                for params in group:
                    rec = tx.run(q.UPSERT_INTERACTIONS, rows=params).single(strict=True)
                    created, updated = int(rec["created"]), int(rec["updated"])
                    missing = len(params) - int(rec["matched"])
                    if missing:  # raised inside the transaction: it rolls back
                        raise NotFoundError(
                            f"{missing} of {len(params)} interactions name a user or product "
                            "the graph does not hold; none of them was written"
                        )
                    counts += UpsertCounts(created, updated, len(params) - created - updated)
                    recheck += list(rec["twice"]) + (list(rec["new"]) if race_safe else [])
                return counts, recheck

            group_counts, recheck = self._write(work)
            # a writer that created one of them at once: the later to commit dedupes
            self._dedupe_interactions(recheck)
            counts += group_counts
        return counts

    def _dedupe_interactions(self, rows: list[dict[str, Any]]) -> None:
        """Keep one of each interaction of ``rows`` stored more than once (after the commit)."""
        try:
            self._write_batches(q.DEDUPE_INTERACTIONS, rows)
        except GraphConnectionError as e:
            log.warning(
                "%d interactions were written; their check for copies a concurrent writer "
                "made did not run (%s): such a copy is made one when it is sent again",
                len(rows),
                e,
            )

    def link_entities(self, rows: Sequence[EntityLinkRow]) -> UpsertCounts:
        """MERGE ``(:Product)-[:HAS_ENTITY {relation}]->(:Entity)``.

        Returns:
            Relationships created, and the rows whose relationship was there already
            (``unchanged``); rows naming a missing product or entity count in neither.
        """
        return self._write_links(q.LINK_PRODUCT_ENTITIES, [dict(r) for r in rows])

    def relate_entities(self, rows: Sequence[TripleRow]) -> UpsertCounts:
        """MERGE ``(:Entity)-[:RELATED {relation}]->(:Entity)``; counts as :meth:`link_entities`."""
        return self._write_links(q.RELATE_ENTITIES, [dict(r) for r in rows])

    def _write_links(self, statement: LiteralString, rows: list[dict[str, Any]]) -> UpsertCounts:
        """Write relationship ``rows`` with ``statement`` (it returns ``created`` and ``n``)."""
        # a link given twice is one relationship: written, and counted, once
        distinct = list({tuple(sorted(r.items())): r for r in rows}.values())
        counts = UpsertCounts(unchanged=len(rows) - len(distinct))
        for record in self._write_batches(statement, distinct):
            created = int(record["created"] or 0)
            counts += UpsertCounts(created=created, unchanged=int(record["n"]) - created)
        return counts

    def _write_batches(
        self, statement: LiteralString, rows: list[dict[str, Any]]
    ) -> list[neo4j.Record]:
        """Run ``statement`` over ``rows`` in write batches; each batch's one summary record."""
        records = []
        for batch in _batches(rows, self.options.write_batch_size):

            def work(
                tx: ManagedTransaction, batch: Sequence[dict[str, Any]] = batch
            ) -> neo4j.Record:
                return tx.run(statement, rows=list(batch)).single(strict=True)

            records.append(self._write(work))
        return records

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

    def delete_all(self, batch: int = DELETE_BATCH) -> int:
        """Delete every node and relationship of the database (tests, `kgrec graph reset`).

        ``batch`` relationships, then ``batch`` nodes, per write transaction until
        none is left: one statement over a graph of millions of nodes would
        outlast the server's command timeout. Not atomic: an interrupted call
        leaves part of the graph, and calling it again deletes the rest.

        Returns:
            The number of nodes deleted.
        """
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        self._delete_in_batches(q.DELETE_SOME_RELATIONSHIPS, batch)
        deleted = self._delete_in_batches(q.DELETE_SOME_NODES, batch)
        log.debug("deleted %d nodes", deleted)
        return deleted

    def _delete_in_batches(self, statement: LiteralString, batch: int) -> int:
        deleted = 0
        while True:
            n = self._write(
                lambda tx: int(tx.run(statement, batch=batch).single(strict=True)["deleted"])
            )
            deleted += n
            if n < batch:
                return deleted


def _changed_meanwhile(error: QueryError) -> bool:
    """True when a write was refused for another writer's change made meanwhile.

    A unique id it created, or a relationship the write had read that it deleted.
    """
    cause = error.__cause__
    if not isinstance(cause, neo4j.exceptions.Neo4jError):
        return False
    return cause.code in (_NEO4J_UNIQUE, _GONE) or "Duplicated key" in (cause.message or "")


def _interaction_params(batch: Sequence[InteractionRow]) -> list[dict[str, Any]]:
    """The parameters of :data:`~kgrec.graph._queries.UPSERT_INTERACTIONS` for ``batch``."""
    return [
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


def _one_row_per_interaction(rows: Sequence[InteractionRow]) -> list[InteractionRow]:
    """``rows`` with one row per (user, product, kind, ts), in first-seen order.

    A repeat's ``value`` and ``weight`` replace the earlier ones when it gives them,
    as writing the rows one after the other would.
    """
    merged: dict[tuple[str, str, str, int], InteractionRow] = {}
    for r in rows:
        key = (r["user_id"], r["product_id"], r["kind"], int(r["ts"]))
        seen = merged.get(key)
        if seen is None:
            merged[key] = cast(InteractionRow, dict(r))
            continue
        for field in ("value", "weight"):
            if r.get(field) is not None:
                seen[field] = r[field]
    return list(merged.values())
