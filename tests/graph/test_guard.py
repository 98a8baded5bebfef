"""The exploration guard: writes are rejected before they reach the server."""

from __future__ import annotations

import pytest

from kgrec.errors import WriteQueryRejectedError
from kgrec.graph import GraphStore, ensure_read_only
from kgrec.graph.guard import tokenize

WRITES = [
    "CREATE (n:Product {id: 'x'})",
    "MATCH (n) DETACH DELETE n",
    "MATCH (p:Product) SET p.price = 0",
    "MERGE (b:Brand {id: 'x'})",
    "MATCH (p:Product) REMOVE p.title",
    "DROP CONSTRAINT product_id",
    "LOAD CSV FROM 'file:///x.csv' AS row RETURN row",
    "CALL apoc.create.node(['X'], {})",
    "CALL db.createLabel('X')",
    "MATCH (n) CALL { WITH n DELETE n } IN TRANSACTIONS",
    "UNWIND [1] AS i FOREACH (x IN [1] | CREATE (:X))",
    "match (n) detach delete n",
    "MATCH (n) WHERE n.id = 'a' /* harmless? */ SET n.x = 1",
    # Found by a user: literals and quoted names that hold comment or quote marks.
    "WITH '//' AS a CREATE (h:Hack {id:'h9'}) RETURN a",
    "WITH '/*' AS a MATCH (n) DETACH DELETE n WITH a, '*/' AS b RETURN a, b",
    "WITH 1 AS `it's` CREATE (h:Hack {id:'h12'}) WITH `it's` AS x RETURN x",
    'WITH 1 AS `a"b` CREATE (:Hack) WITH `a"b` AS x RETURN x',
    "WITH 1 AS `/*` CREATE (:Hack) WITH `*/` AS x RETURN x",
    "WITH 'it\\'s' AS a CREATE (:Hack) RETURN a",
    "MATCH (n) DETACH/**/DELETE n",
    "SHOW USERS",
    "show roles",
    "SHOW ALL PRIVILEGES",
    "SHOW DATABASES",
    "USE system SHOW USERS",
    "INSERT (:Hack {id: 'i'})",
    "CALL `db`.`createLabel`('X')",
    "MATCH (n) WITH n LIMIT 1 CALL (n) { DELETE n }",
    "RETURN 'unterminated",
    "MATCH (n) RETURN n /* unterminated",
    "MATCH (n) CALL { WITH n RETURN 1 AS y } IN CONCURRENT TRANSACTIONS RETURN y",
    # names in the places the guard lets them be: the keyword still counts elsewhere
    "WITH 1 AS set SET set.x = 1",
    "MATCH (start:User) DELETE start",
    "WITH {create: 1} AS m CREATE (:Hack)",
    "WITH 1 AS x SET x.y = 1",
    "MATCH (n) WITH n AS SET SET SET.x = 1",
    "UNWIND [1] AS load RETURN load",  # a keyword as a bare variable: fail closed
    # "as" that is not the keyword AS (found by a review: these passed for a while)
    "MATCH (n:Product) WHERE n.as SET n.price = 0 RETURN n",
    "MATCH (n:Product) WHERE n.as DELETE n",
    "MATCH (n) WHERE n:as SET n.x = 1",
    "MATCH (n) WHERE n.as CALL dbms.security.createUser('a','b') RETURN 1",
    "MATCH (n) WHERE n:as CALL apoc.load.json('file:///etc/passwd') YIELD value RETURN value",
    "MATCH (n:Product) WHERE n.as LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l",
    "MATCH (n) RETURN n.as AS y, 1 AS as CREATE (:E)",
    "MATCH (n) WHERE n.`as` MERGE (:E)",
    # a variable named as after a comma or DISTINCT is no AS: the word after it is a
    # clause (found by a review: these passed, and wrote on a server without a reader)
    "WITH 1 AS as MATCH (n:Product) WITH n, as SET n.title = 'pwned'",
    "WITH 1 AS as MATCH (n) WITH n, as CREATE (:Hack {id: 'as1'})",
    "WITH 1 AS as WITH as LOAD CSV FROM 'file:///etc/hostname' AS l RETURN l",
    "MATCH (as:Product) WITH DISTINCT as SET as.title = 'x'",
    "MATCH (as:Product) WITH as ORDER BY as SKIP 0 WITH [as] AS l, as DELETE as",
    # a comment holding a line end of another lexer (found by the same review): the
    # guard read a string opening after \u2028, the server read the CREATE
    "// \u2028 '\nCREATE (:Hack {id: 'ls'}) // '",
    "// \u2029 \"\nRETURN sql.eval('x') AS d // \"",
    "MATCH (n) RETURN n // \u0085 '\nCREATE (:Hack) // '",
    # ArcadeDB runs SQL through sql.eval, in a read transaction too (found by a review)
    "RETURN sql.eval('(DELETE FROM Product WHERE id = \"p7\") IS NOT NULL') AS d",
    "RETURN sql.eval($e) AS d",
    "RETURN SQL . eval ( $e ) AS d",
    "RETURN `sql`.`eval`($e) AS d",
    "RETURN `sql.eval`($e) AS d",
    "RETURN sql /* x */ .eval($e) AS d",
    "MATCH (p:Product) RETURN apoc.text.join([p.id], ',') AS s",
    "RETURN util.sleep(100000)",
    # server files read by LOAD CSV in other spellings (2026-12-04; the last three
    # passed: a number literal took the letters glued to it, and a lexer that reads
    # ``1LOAD`` as ``1`` and ``LOAD`` runs the clause)
    "load csv from 'file:///etc/hostname' as l return l",
    "MATCH (n) CALL { LOAD CSV FROM 'file:///etc/hostname' AS l RETURN l } RETURN l",
    "/* x */LOAD/**/CSV FROM 'file:///etc/hostname' AS l RETURN l",
    "WITH 1 AS x\u00a0LOAD\u2003CSV FROM 'file:///etc/hostname' AS l RETURN l",
    "CALL apoc.load.csv('file:///etc/hostname') YIELD map RETURN map",
    "RETURN apoc.load.jsonParams('file:///etc/hostname', {}, null) AS j",
    "CALL `apoc.load`.json('file:///etc/passwd') YIELD value RETURN value",
    "WITH 1 AS x LIMIT 1LOAD CSV FROM 'file:///etc/hostname' AS l RETURN l",
    "WITH 1 AS x SKIP 0x0LOAD CSV FROM 'file:///etc/hostname' AS l RETURN l",
    "WITH 1 AS x LIMIT 1e0CREATE (:Hack)",
]
READS = [
    "MATCH (p:Product) RETURN p.id AS id",
    "MATCH (p:Product) WHERE p.title CONTAINS 'CREATE' RETURN p",
    "MATCH (p:Product) RETURN p.set AS s, p.created_at AS c",  # property names
    "MATCH (n:`DELETE`) RETURN n",  # quoted label
    "// CREATE in a comment\nMATCH (n) RETURN count(n)",
    "CALL db.labels()",
    "MATCH (p:Product) WHERE p.id = $create RETURN p",
    "WITH '//' AS a RETURN a",
    "RETURN '/*' AS a, '*/' AS b",
    "MATCH (n:`it's`) RETURN n",
    "RETURN 'it\\'s CREATE' AS s",
    'RETURN "SET \\" DELETE" AS s',
    "MATCH (a)-[:`SET`]->(b) RETURN a, b",
    "SHOW INDEXES",
    "SHOW CONSTRAINTS",
    "SHOW RANGE INDEXES",
    "CALL db.labels() YIELD label RETURN label",
    "MATCH (n) RETURN n.x // trailing CREATE comment",
    # keywords as names where no clause can stand (found by a review: these were refused)
    "MATCH (start:User)-[:INTERACTED]->(p) RETURN start.id",
    "MATCH (p:Product) WITH p AS use RETURN use.id",
    "MATCH (p:Product) RETURN p {.id, set: 'x'}",
    "RETURN {create: 1, delete: 0} AS m",
    "UNWIND [1, 2] AS load RETURN count(*) AS n",
    "WITH 1 AS stop RETURN 2 AS two",
    "MATCH (n) WITH n AS `use` RETURN `use`.`start` AS s",
    # dotted functions of Cypher's own namespaces, and properties that are no calls
    "RETURN date.truncate('month', date('2026-11-30')) AS m",
    "RETURN duration.between(date('2026-01-01'), date()) AS d",
    "RETURN point.distance(point({x: 0, y: 0}), point({x: 3, y: 4})) AS p",
    "MATCH (p:Product) RETURN p.sql AS s, size(p.title) AS n, toUpper(p.title) AS t",
    "MATCH (p:Product) WHERE p.price > 1 RETURN p.brand_id AS b ORDER BY b",
    "CALL db.labels() YIELD label RETURN toLower(label) AS l",
    # AS after what closes an expression stays the keyword: the alias is a name
    "MATCH (p:Product) RETURN p.id AS set, [p.title] AS create, $x AS delete",
    "MATCH (p:Product) RETURN count(*) AS load, 'a' AS merge, `p` AS remove",
    "WITH 1 AS `as` RETURN `as` AS stop",  # a variable named as, backticked
    # number literals stay whole
    "RETURN 1_000 AS a, 0x1F AS b, 0o17 AS c, 1.5e3 AS d, 2E-3 AS e, 3.25 AS f",
]


@pytest.mark.parametrize("query", WRITES)
def test_write_clauses_are_rejected(query: str) -> None:
    with pytest.raises(WriteQueryRejectedError):
        ensure_read_only(query)


@pytest.mark.parametrize("query", READS)
def test_reads_pass(query: str) -> None:
    ensure_read_only(query)


def test_the_lexer_keeps_literals_names_and_comments_apart() -> None:
    tokens = tokenize("WITH '/*' AS `it's` // CREATE\nRETURN $p, n.x")
    assert [(t.kind, t.text) for t in tokens] == [
        ("word", "WITH"),
        ("string", "/*"),
        ("word", "AS"),
        ("quoted", "it's"),
        ("word", "RETURN"),
        ("param", "p"),
        ("symbol", ","),
        ("word", "n"),
        ("symbol", "."),
        ("word", "x"),
    ]


def test_a_rejection_names_the_clause_or_the_unclosed_literal() -> None:
    with pytest.raises(WriteQueryRejectedError, match="CREATE"):
        ensure_read_only("WITH '//' AS a CREATE (:X) RETURN a")
    with pytest.raises(WriteQueryRejectedError, match="offset 7 is not closed"):
        ensure_read_only("RETURN 'open")
    with pytest.raises(WriteQueryRejectedError, match="SHOW is allowed for"):
        ensure_read_only("SHOW USERS")


@pytest.mark.neo4j
def test_a_write_attempt_changes_nothing(any_store: GraphStore) -> None:
    any_store.upsert_products([{"id": "p1", "title": "keep me"}])
    before = any_store.count_nodes()
    for query in ("CREATE (:Product {id: 'evil'})", "MATCH (n) DETACH DELETE n"):
        with pytest.raises(WriteQueryRejectedError, match="read-only"):
            any_store.cypher(query)
    assert any_store.count_nodes() == before
    assert any_store.nodes_by_id("Product", ["p1"])["p1"]["title"] == "keep me"


@pytest.mark.neo4j
def test_a_malformed_query_is_a_query_error(any_store: GraphStore) -> None:
    from kgrec.errors import QueryError

    with pytest.raises(QueryError, match="rejected the query"):
        any_store.cypher("MATCH (n RETURN n")


@pytest.mark.neo4j
@pytest.mark.parametrize(
    ("value", "reason"),
    [(10**20, "too large"), (object(), "not supported"), (float("nan"), None)],
)
def test_a_parameter_the_driver_cannot_send_is_a_query_error(
    any_store: GraphStore, value: object, reason: str | None
) -> None:
    """A parameter out of Bolt's range names the parameter (a review found a traceback)."""
    from kgrec.errors import QueryError

    if reason is None:  # a value Bolt carries: the query runs
        assert any_store.cypher("RETURN $x IS NULL AS n", {"x": value})["n"].tolist() == [False]
        return
    with pytest.raises(QueryError, match=rf"parameters .*\bx\b.*{reason}"):
        any_store.cypher("RETURN $x AS x", {"x": value})


@pytest.mark.neo4j
def test_arcadedbs_sql_functions_are_rejected_before_the_server(any_store: GraphStore) -> None:
    """``sql.eval`` runs SQL writes on ArcadeDB even in a read transaction (a review found it)."""
    any_store.upsert_products([{"id": "p1", "title": "keep me"}])
    update = "(UPDATE Product SET title = 'pwned' WHERE id = 'p1') IS NOT NULL"
    with pytest.raises(WriteQueryRejectedError, match=r"dotted functions .* got sql\.eval\(\)"):
        any_store.cypher("RETURN sql.eval($e) AS done", {"e": update})
    assert any_store.nodes_by_id("Product", ["p1"])["p1"]["title"] == "keep me"
