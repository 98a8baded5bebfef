"""The store's reads: counts, nodes by id, paged scans, neighbourhoods, pair links."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final, cast

import pandas as pd

from kgrec.errors import (
    ConfigError,
    invalid_choice,
)
from kgrec.graph import _queries as q
from kgrec.graph._session import _batches, _check_label, _Session
from kgrec.graph.records import (
    PairLinks,
    ProductRow,
    SharedLink,
)
from kgrec.typing import (
    CONTENT_HASH,
    ID,
    NODE_LABELS,
    PRODUCT_PROPERTIES,
    REL_TYPES,
    NodeLabel,
)

_MAX_HOPS: Final = 3
_MAX_SAMPLED_HOPS: Final = 4  # the GNN's most layers (gnn_layers <= 4)
# Node properties that are not a product's attrs in a row read back.
_NOT_ATTRS: Final = frozenset({ID, CONTENT_HASH, *PRODUCT_PROPERTIES})


class _Reads(_Session):
    """Counts, nodes by id, paged scans, neighbourhoods and pair links."""

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

    def category_parents(self, ids: Iterable[str]) -> dict[str, str | None]:
        """Each existing category of ``ids`` -> its parent's id (None for a root)."""
        out: dict[str, str | None] = {}
        for batch in _batches(list(dict.fromkeys(ids)), self.options.read_page_size):
            for r in self._read(q.CATEGORY_PARENTS, ids=list(batch)):
                out[str(r["id"])] = None if r["parent"] is None else str(r["parent"])
        return out

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
