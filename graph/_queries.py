"""Every Cypher statement kgrec sends, as named constants with ``$parameters``.

Nothing here is ever formatted: labels and relationship types are written out,
values travel as parameters. Each statement runs unchanged on Neo4j 5 and on the
embedded ArcadeDB Bolt server.
"""

from __future__ import annotations

from typing import Final

from kgrec.typing import BRAND, CATEGORY, ENTITY, PRODUCT, USER

# Schema ------------------------------------------------------------------------
SCHEMA: Final[tuple[str, ...]] = (
    "CREATE CONSTRAINT product_id IF NOT EXISTS FOR (n:Product) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT brand_id IF NOT EXISTS FOR (n:Brand) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT category_id IF NOT EXISTS FOR (n:Category) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT user_id IF NOT EXISTS FOR (n:User) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT entity_id IF NOT EXISTS FOR (n:Entity) REQUIRE n.id IS UNIQUE",
    "CREATE INDEX entity_kind IF NOT EXISTS FOR (n:Entity) ON (n.kind)",
    "CREATE INDEX category_name IF NOT EXISTS FOR (n:Category) ON (n.name)",
    "CREATE INDEX brand_name IF NOT EXISTS FOR (n:Brand) ON (n.name)",
)
SHOW_CONSTRAINTS: Final = "SHOW CONSTRAINTS"

# Node upserts ------------------------------------------------------------------
# An upsert is two statements in one write transaction (graph.GraphStore, graph._upserts):
# NODE_STATE reads the batch's existing nodes (properties, and the links an upsert
# may replace), kgrec compares them with the rows in Python, then UPSERT_NODES
# writes only the created and changed nodes. Each row is {id, props}; ``props``
# holds only the keys that change, a null value removes that key (``SET n += map``
# leaves every other property, including one another writer just set, untouched).
NODE_STATE: Final = {
    PRODUCT: "UNWIND $ids AS id MATCH (n:Product {id: id}) "
    "RETURN n.id AS id, properties(n) AS props, "
    "[(n)-[:HAS_BRAND]->(b:Brand) | b.id] AS brand, "
    "[(n)-[:IN_CATEGORY]->(c:Category) | c.id] AS categories",
    BRAND: "UNWIND $ids AS id MATCH (n:Brand {id: id}) RETURN n.id AS id, properties(n) AS props",
    CATEGORY: "UNWIND $ids AS id MATCH (n:Category {id: id}) "
    "RETURN n.id AS id, properties(n) AS props, "
    "[(n)-[:SUBCATEGORY_OF]->(p:Category) | p.id] AS parent",
    USER: "UNWIND $ids AS id MATCH (n:User {id: id}) RETURN n.id AS id, properties(n) AS props",
    ENTITY: "UNWIND $ids AS id MATCH (n:Entity {id: id}) RETURN n.id AS id, properties(n) AS props",
}
UPSERT_NODES: Final = {
    PRODUCT: "UNWIND $rows AS r MERGE (n:Product {id: r.id}) SET n += r.props RETURN count(n) AS n",
    BRAND: "UNWIND $rows AS r MERGE (n:Brand {id: r.id}) SET n += r.props RETURN count(n) AS n",
    CATEGORY: "UNWIND $rows AS r MERGE (n:Category {id: r.id}) SET n += r.props "
    "RETURN count(n) AS n",
    USER: "UNWIND $rows AS r MERGE (n:User {id: r.id}) SET n += r.props RETURN count(n) AS n",
    ENTITY: "UNWIND $rows AS r MERGE (n:Entity {id: r.id}) SET n += r.props RETURN count(n) AS n",
}
# Brands / categories named on product rows: created when missing, never overwritten.
ENSURE_BRANDS: Final = (
    "UNWIND $rows AS r MERGE (b:Brand {id: r.id}) ON CREATE SET b.name = r.name "
    "RETURN count(b) AS n"
)
ENSURE_CATEGORIES: Final = (
    "UNWIND $rows AS r MERGE (c:Category {id: r.id}) "
    "ON CREATE SET c.name = r.name, c.path = r.path RETURN count(c) AS n"
)

# Relationship upserts ------------------------------------------------------------
# Run first by a transaction that relinks products: every HAS_BRAND and IN_CATEGORY
# edge of each product is deleted and made again, so two writers relinking one
# product change the same records and conflict (ArcadeDB retries one; Neo4j's
# relationship locks order them). Without it, ArcadeDB merges their concurrent
# appends to the product's edge list: each writer, having read no stale link,
# added its own (up to 8 HAS_BRAND edges of one product).
TOUCH_PRODUCT_BRANDS: Final = """
UNWIND $ids AS id
MATCH (p:Product {id: id})-[old:HAS_BRAND]->(b:Brand)
DELETE old
CREATE (p)-[:HAS_BRAND]->(b)
RETURN count(*) AS n
"""
TOUCH_PRODUCT_CATEGORIES: Final = """
UNWIND $ids AS id
MATCH (p:Product {id: id})-[old:IN_CATEGORY]->(c:Category)
DELETE old
CREATE (p)-[:IN_CATEGORY]->(c)
RETURN count(*) AS n
"""
# A product has one brand: a stale HAS_BRAND edge is removed when the brand changes.
SET_PRODUCT_BRAND: Final = """
UNWIND $rows AS r
MATCH (p:Product {id: r.product_id})
OPTIONAL MATCH (p)-[old:HAS_BRAND]->(ob:Brand) WHERE ob.id <> r.brand_id
DELETE old
WITH DISTINCT p, r
MATCH (b:Brand {id: r.brand_id})
MERGE (p)-[:HAS_BRAND]->(b)
RETURN count(*) AS n
"""
# Category membership is replaced by the row's list.
SET_PRODUCT_CATEGORIES: Final = """
UNWIND $rows AS r
MATCH (p:Product {id: r.product_id})
OPTIONAL MATCH (p)-[old:IN_CATEGORY]->(oc:Category) WHERE NOT oc.id IN r.category_ids
DELETE old
WITH DISTINCT p, r
UNWIND r.category_ids AS cid
MATCH (c:Category {id: cid})
MERGE (p)-[:IN_CATEGORY]->(c)
RETURN count(*) AS n
"""
# A category has at most one parent.
SET_CATEGORY_PARENT: Final = """
UNWIND $rows AS r
MATCH (c:Category {id: r.id})
OPTIONAL MATCH (c)-[old:SUBCATEGORY_OF]->(op:Category) WHERE op.id <> r.parent_id
DELETE old
WITH DISTINCT c, r
MATCH (parent:Category {id: r.parent_id})
MERGE (c)-[:SUBCATEGORY_OF]->(parent)
RETURN count(*) AS n
"""
# Interactions are keyed by (user, product, kind, ts): re-sending an event is a no-op.
# A re-sent event without value or weight keeps the stored ones (nothing a row does
# not carry is removed); a new one without weight gets its kind's default weight.
# One row per interaction after the MERGE (``merged``: a concurrent writer's copy,
# committed meanwhile, is matched too), so ``matched`` counts the rows written;
# ``new`` the interactions it created, ``twice`` those it found stored more than once:
# what DEDUPE_INTERACTIONS runs over once the write is committed.
UPSERT_INTERACTIONS: Final = """
UNWIND $rows AS r
MATCH (u:User {id: r.user_id})
MATCH (p:Product {id: r.product_id})
OPTIONAL MATCH (u)-[o:INTERACTED {kind: r.kind, ts: r.ts}]->(p)
WITH u, p, r, count(o) AS existed, head(collect(o.value)) AS old_value,
     head(collect(o.weight)) AS old_weight
MERGE (u)-[i:INTERACTED {kind: r.kind, ts: r.ts}]->(p)
SET i.weight = coalesce(r.weight, old_weight, r.default_weight),
    i.value = coalesce(r.value, old_value)
WITH r.user_id AS user_id, r.product_id AS product_id, r.kind AS kind, r.ts AS ts,
     CASE WHEN existed = 0 THEN 1 ELSE 0 END AS created,
     CASE WHEN existed > 0 AND (
           (r.value IS NOT NULL AND (old_value IS NULL OR r.value <> old_value)) OR
           (r.weight IS NOT NULL AND (old_weight IS NULL OR r.weight <> old_weight)))
         THEN 1 ELSE 0 END AS updated,
     count(i) AS merged
RETURN sum(created) AS created, sum(updated) AS updated, count(*) AS matched,
       collect(CASE WHEN created = 1
               THEN {user_id: user_id, product_id: product_id, kind: kind, ts: ts} END) AS new,
       collect(CASE WHEN merged > 1
               THEN {user_id: user_id, product_id: product_id, kind: kind, ts: ts} END) AS twice
"""
# Every INTERACTED relationship of a row's (user, product, kind, ts) but one: the one
# with the least elementId, so writers that dedupe at once all keep the same one.
# The embedded ArcadeDB server merges concurrent edge appends rather than failing a
# transaction: two writers that MERGE one interaction at once both create it.
DEDUPE_INTERACTIONS: Final = """
UNWIND $rows AS r
MATCH (:User {id: r.user_id})-[i:INTERACTED {kind: r.kind, ts: r.ts}]->(:Product {id: r.product_id})
WITH r.user_id AS u, r.product_id AS p, r.kind AS kind, r.ts AS ts, collect(i) AS rels
WHERE size(rels) > 1
WITH rels, reduce(m = head(rels), x IN rels |
     CASE WHEN elementId(x) < elementId(m) THEN x ELSE m END) AS keep
UNWIND rels AS x
WITH x, keep WHERE elementId(x) <> elementId(keep)
DELETE x
RETURN count(*) AS deleted
"""
# The links' rows: ``created`` the relationships the MERGE made, ``n`` all it matched or made.
LINK_PRODUCT_ENTITIES: Final = """
UNWIND $rows AS r
MATCH (p:Product {id: r.product_id})
MATCH (e:Entity {id: r.entity_id})
OPTIONAL MATCH (p)-[old:HAS_ENTITY {relation: r.relation}]->(e)
WITH r, p, e, count(old) AS existed
MERGE (p)-[h:HAS_ENTITY {relation: r.relation}]->(e)
RETURN sum(CASE WHEN existed = 0 THEN 1 ELSE 0 END) AS created, count(h) AS n
"""
RELATE_ENTITIES: Final = """
UNWIND $rows AS r
MATCH (h:Entity {id: r.head})
MATCH (t:Entity {id: r.tail})
OPTIONAL MATCH (h)-[old:RELATED {relation: r.relation}]->(t)
WITH r, h, t, count(old) AS existed
MERGE (h)-[x:RELATED {relation: r.relation}]->(t)
RETURN sum(CASE WHEN existed = 0 THEN 1 ELSE 0 END) AS created, count(x) AS n
"""

# Reads ---------------------------------------------------------------------------
COUNT_NODES: Final = "MATCH (n) UNWIND labels(n) AS label RETURN label, count(*) AS n"
COUNT_RELS: Final = "MATCH ()-[r]->() RETURN type(r) AS type, count(*) AS n"
CATEGORY_PARENTS: Final = (
    "UNWIND $ids AS id MATCH (c:Category {id: id}) "
    "OPTIONAL MATCH (c)-[:SUBCATEGORY_OF]->(p:Category) RETURN c.id AS id, p.id AS parent"
)
EXISTING_IDS: Final = {
    PRODUCT: "UNWIND $ids AS id MATCH (n:Product {id: id}) RETURN n.id AS id",
    BRAND: "UNWIND $ids AS id MATCH (n:Brand {id: id}) RETURN n.id AS id",
    CATEGORY: "UNWIND $ids AS id MATCH (n:Category {id: id}) RETURN n.id AS id",
    USER: "UNWIND $ids AS id MATCH (n:User {id: id}) RETURN n.id AS id",
    ENTITY: "UNWIND $ids AS id MATCH (n:Entity {id: id}) RETURN n.id AS id",
}
# Nodes of one label in pages, keyset-paginated on id (no SKIP).
NODES_PAGE: Final = {
    PRODUCT: "MATCH (n:Product) WHERE n.id > $after "
    "RETURN n.id AS id, properties(n) AS props ORDER BY id LIMIT $limit",
    BRAND: "MATCH (n:Brand) WHERE n.id > $after "
    "RETURN n.id AS id, properties(n) AS props ORDER BY id LIMIT $limit",
    CATEGORY: "MATCH (n:Category) WHERE n.id > $after "
    "RETURN n.id AS id, properties(n) AS props ORDER BY id LIMIT $limit",
    USER: "MATCH (n:User) WHERE n.id > $after "
    "RETURN n.id AS id, properties(n) AS props ORDER BY id LIMIT $limit",
    ENTITY: "MATCH (n:Entity) WHERE n.id > $after "
    "RETURN n.id AS id, properties(n) AS props ORDER BY id LIMIT $limit",
}
# Ids only of the nodes of one label in pages (keyset on id): what a restart compares
# with the ids its artifact version serves.
NODE_IDS_PAGE: Final = {
    PRODUCT: "MATCH (n:Product) WHERE n.id > $after RETURN n.id AS id ORDER BY id LIMIT $limit",
    BRAND: "MATCH (n:Brand) WHERE n.id > $after RETURN n.id AS id ORDER BY id LIMIT $limit",
    CATEGORY: "MATCH (n:Category) WHERE n.id > $after RETURN n.id AS id ORDER BY id LIMIT $limit",
    USER: "MATCH (n:User) WHERE n.id > $after RETURN n.id AS id ORDER BY id LIMIT $limit",
    ENTITY: "MATCH (n:Entity) WHERE n.id > $after RETURN n.id AS id ORDER BY id LIMIT $limit",
}
# Products by id as rows: properties, brand and categories.
PRODUCT_ROWS: Final = (
    "UNWIND $ids AS id MATCH (n:Product {id: id}) "
    "RETURN n.id AS id, properties(n) AS props, "
    "[(n)-[:HAS_BRAND]->(b:Brand) | b.id] AS brand, "
    "[(n)-[:IN_CATEGORY]->(c:Category) | c.id] AS categories"
)
# Edges of one type in pages of source nodes (keyset on the source id). Every row
# carries the page's source ids so the caller can advance even past nodes without
# edges; ``dst`` is null for those.
_EDGE_PAGE_HEAD: Final = "WHERE a.id > $after WITH a ORDER BY a.id LIMIT $limit "
EDGES_PAGE: Final = {
    "HAS_BRAND": "MATCH (a:Product) "
    + _EDGE_PAGE_HEAD
    + "OPTIONAL MATCH (a)-[r:HAS_BRAND]->(b:Brand) RETURN a.id AS src, b.id AS dst",
    "IN_CATEGORY": "MATCH (a:Product) "
    + _EDGE_PAGE_HEAD
    + "OPTIONAL MATCH (a)-[r:IN_CATEGORY]->(b:Category) RETURN a.id AS src, b.id AS dst",
    "SUBCATEGORY_OF": "MATCH (a:Category) "
    + _EDGE_PAGE_HEAD
    + "OPTIONAL MATCH (a)-[r:SUBCATEGORY_OF]->(b:Category) RETURN a.id AS src, b.id AS dst",
    "INTERACTED": "MATCH (a:User) "
    + _EDGE_PAGE_HEAD
    + "OPTIONAL MATCH (a)-[r:INTERACTED]->(b:Product) "
    "RETURN a.id AS src, b.id AS dst, r.kind AS kind, r.ts AS ts, r.weight AS weight, "
    "r.value AS value",
    "HAS_ENTITY": "MATCH (a:Product) "
    + _EDGE_PAGE_HEAD
    + "OPTIONAL MATCH (a)-[r:HAS_ENTITY]->(b:Entity) "
    "RETURN a.id AS src, b.id AS dst, r.relation AS relation",
    "RELATED": "MATCH (a:Entity) " + _EDGE_PAGE_HEAD + "OPTIONAL MATCH (a)-[r:RELATED]->(b:Entity) "
    "RETURN a.id AS src, b.id AS dst, r.relation AS relation",
}
# One hop around a set of nodes of one label, both directions. The caller expands
# k hops by calling it again on the frontier (graph.GraphStore.neighbourhood).
_NEIGHBOURS_TAIL: Final = (
    "MATCH (s)-[r]-(n) RETURN s.id AS src, type(r) AS type, startNode(r) = s AS outgoing, "
    "labels(n) AS dst_labels, n.id AS dst, properties(r) AS props"
)
NEIGHBOURS: Final = {
    PRODUCT: "UNWIND $ids AS sid MATCH (s:Product {id: sid}) " + _NEIGHBOURS_TAIL,
    BRAND: "UNWIND $ids AS sid MATCH (s:Brand {id: sid}) " + _NEIGHBOURS_TAIL,
    CATEGORY: "UNWIND $ids AS sid MATCH (s:Category {id: sid}) " + _NEIGHBOURS_TAIL,
    USER: "UNWIND $ids AS sid MATCH (s:User {id: sid}) " + _NEIGHBOURS_TAIL,
    ENTITY: "UNWIND $ids AS sid MATCH (s:Entity {id: sid}) " + _NEIGHBOURS_TAIL,
}
# One hop around a set of nodes of one label, bounded: at most $limit relationships per
# node and relationship type (graph.GraphStore.sampled_neighbourhood). A row holds the
# node's id and ``rels``: per relationship kept, what the GNN needs of it, as
# [type, outgoing, other end's label, its id, relation, its properties (features)]
# (lists in few rows: a row each costs the driver more than its bytes).
_SAMPLED_RETURN: Final = (
    "RETURN s.id AS src, [x IN picked | [type(x[0]), startNode(x[0]) = s, labels(x[1])[0], "
    "x[1].id, x[0].relation, properties(x[1])]] AS rels"
)
# Around the nodes being embedded: the most recent first (interactions by ``ts``),
# then by the other end's id, kind, relation and direction: a user's latest N events.
_RECENT_TAIL: Final = (
    "MATCH (s)-[r]-(n) "
    "WITH s, type(r) AS rel_type, r, n ORDER BY coalesce(r.ts, 0) DESC, n.id, "
    "coalesce(r.kind, ''), coalesce(r.relation, ''), "
    "CASE WHEN startNode(r) = s THEN 0 ELSE 1 END "
    "WITH s, rel_type, collect([r, n])[..$limit] AS picked " + _SAMPLED_RETURN
)
RECENT_NEIGHBOURS: Final = {
    PRODUCT: "UNWIND $ids AS sid MATCH (s:Product {id: sid}) " + _RECENT_TAIL,
    BRAND: "UNWIND $ids AS sid MATCH (s:Brand {id: sid}) " + _RECENT_TAIL,
    CATEGORY: "UNWIND $ids AS sid MATCH (s:Category {id: sid}) " + _RECENT_TAIL,
    USER: "UNWIND $ids AS sid MATCH (s:User {id: sid}) " + _RECENT_TAIL,
    ENTITY: "UNWIND $ids AS sid MATCH (s:Entity {id: sid}) " + _RECENT_TAIL,
}
# Further out: the first $limit per relationship type in the order the server stores
# them (no sort: sorting every relationship of a popular product costs more than the
# rest of an online write). One list per type the label can have.
_STORED_TAIL: Final = (
    "WITH s, [r IN rels | [r, CASE WHEN startNode(r) = s THEN endNode(r) ELSE startNode(r) END]] "
    "AS picked " + _SAMPLED_RETURN
)
STORED_NEIGHBOURS: Final = {
    PRODUCT: "UNWIND $ids AS sid MATCH (s:Product {id: sid}) "
    "WITH s, [(s)-[r:HAS_BRAND]-() | r][..$limit] + [(s)-[r:IN_CATEGORY]-() | r][..$limit] "
    "+ [(s)-[r:HAS_ENTITY]-() | r][..$limit] + [(s)-[r:INTERACTED]-() | r][..$limit] "
    "AS rels " + _STORED_TAIL,
    BRAND: "UNWIND $ids AS sid MATCH (s:Brand {id: sid}) "
    "WITH s, [(s)-[r:HAS_BRAND]-() | r][..$limit] AS rels " + _STORED_TAIL,
    CATEGORY: "UNWIND $ids AS sid MATCH (s:Category {id: sid}) "
    "WITH s, [(s)-[r:IN_CATEGORY]-() | r][..$limit] "
    "+ [(s)-[r:SUBCATEGORY_OF]-() | r][..$limit] AS rels " + _STORED_TAIL,
    USER: "UNWIND $ids AS sid MATCH (s:User {id: sid}) "
    "WITH s, [(s)-[r:INTERACTED]-() | r][..$limit] AS rels " + _STORED_TAIL,
    ENTITY: "UNWIND $ids AS sid MATCH (s:Entity {id: sid}) "
    "WITH s, [(s)-[r:HAS_ENTITY]-() | r][..$limit] + [(s)-[r:RELATED]-() | r][..$limit] "
    "AS rels " + _STORED_TAIL,
}
# Shortest explanation path between a user and a product, at most 4 hops.
EXPLAIN_PATH: Final = """
MATCH (u:User {id: $user_id}), (p:Product {id: $product_id})
MATCH path = shortestPath((u)-[*..4]-(p))
RETURN [n IN nodes(path) | {label: labels(n)[0], id: n.id, name: coalesce(n.title, n.name, n.id)}]
       AS nodes,
       [r IN relationships(path) | {type: type(r), kind: r.kind, relation: r.relation}] AS rels
LIMIT 1
"""
# What (history product, recommended product) pairs share, for the reasons of one
# answer in one read (graph.GraphStore.pair_links, api.reasons): per pair, the brand,
# categories and entities both link to by the same relationship type and relation
# (each side's own links, matched by key: no expansion from a hub node, whatever its
# degree), at most $limit, and the kinds of the shopper's interactions with the
# history product. $pairs: [{via, item}]; $user_id may be null.
PAIR_LINKS: Final = """
OPTIONAL MATCH (u:User {id: $user_id})
UNWIND $pairs AS pair
MATCH (h:Product {id: pair.via})
MATCH (c:Product {id: pair.item})
WITH u, pair, h,
     [(c)-[b:HAS_BRAND|IN_CATEGORY|HAS_ENTITY]->(m)
      | type(b) + '|' + coalesce(b.relation, '') + '|' + m.id] AS theirs
RETURN pair.via AS via, pair.item AS item,
       [(h)-[a:HAS_BRAND|IN_CATEGORY|HAS_ENTITY]->(n)
        WHERE type(a) + '|' + coalesce(a.relation, '') + '|' + n.id IN theirs
        | [type(a), a.relation, labels(n)[0], n.id, n.name, n.kind]][..$limit] AS shared,
       CASE WHEN u IS NULL THEN [] ELSE [(u)-[i:INTERACTED]->(h) | i.kind] END AS kinds
"""
# Properties of nodes of one label by id.
NODES_BY_ID: Final = {
    PRODUCT: "UNWIND $ids AS id MATCH (n:Product {id: id}) "
    "RETURN n.id AS id, properties(n) AS props",
    BRAND: "UNWIND $ids AS id MATCH (n:Brand {id: id}) RETURN n.id AS id, properties(n) AS props",
    CATEGORY: "UNWIND $ids AS id MATCH (n:Category {id: id}) "
    "RETURN n.id AS id, properties(n) AS props",
    USER: "UNWIND $ids AS id MATCH (n:User {id: id}) RETURN n.id AS id, properties(n) AS props",
    ENTITY: "UNWIND $ids AS id MATCH (n:Entity {id: id}) RETURN n.id AS id, properties(n) AS props",
}

# Forgetting a shopper (graph.GraphStore.delete_user) ----------------------------------
# Two statements of one write transaction: what the shopper's node holds (its
# properties: the text cache entry of their declared attributes is removed too) and
# how many relationships it has, then the node with every relationship of it.
USER_TO_FORGET: Final = """
MATCH (u:User {id: $user_id})
OPTIONAL MATCH (u)-[r]-()
RETURN properties(u) AS props, count(r) AS relationships
"""
FORGET_USER: Final = "MATCH (u:User {id: $user_id}) DETACH DELETE u"

# Maintenance (tests and `kgrec graph reset` only) ----------------------------------
# A batch per transaction, relationships first, then the nodes they left bare
# (GraphStore.delete_all loops until none is left): one statement over a large graph,
# or a batch of nodes holding millions of relationships, would outlast the command
# timeout.
DELETE_SOME_RELATIONSHIPS: Final = """
MATCH ()-[r]->() WITH r LIMIT $batch
DELETE r
RETURN count(*) AS deleted
"""
DELETE_SOME_NODES: Final = """
MATCH (n) WITH n LIMIT $batch
DETACH DELETE n
RETURN count(*) AS deleted
"""
PING: Final = "RETURN 1 AS ok"

# Exploration ---------------------------------------------------------------------
# kgrec ids of the nodes a returned relationship ends at (element ids are used only
# inside the one read transaction that returned them).
NODE_IDS_BY_ELEMENT_ID: Final = (
    "MATCH (n) WHERE elementId(n) IN $element_ids RETURN elementId(n) AS element_id, n.id AS id"
)
