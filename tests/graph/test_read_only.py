"""The exploration path cannot write: the guard rejects, and the server's account refuses.

Property-based: every write clause, its keywords in random case, wrapped in string
literals, comments and backticked names that hold quote and comment marks. Each
generated query must be rejected by the guard (before anything is sent) and,
sent straight to the embedded server as the read-only account with no guard at
all, must leave the graph exactly as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import neo4j
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kgrec.errors import GraphConnectionError, QueryError, WriteQueryRejectedError
from kgrec.graph import GraphStore, connect_store, embedded_server, ensure_read_only
from kgrec.settings import Settings
from tests.utils.graph import fingerprint

pytestmark = pytest.mark.neo4j

# {KEYWORD} marks a keyword whose letters get a random case.
CLAUSES = [
    "{CREATE} (:Hack {id: 'h1'})",
    "{MERGE} (:Hack {id: 'h2'})",
    "{MATCH} (n:Product) {SET} n.title = 'pwned'",
    "{MATCH} (n:Product) {SET} n:Hacked",
    "{MATCH} (n:Product) {REMOVE} n.title",
    "{MATCH} (n) {DETACH} {DELETE} n",
    "{MATCH} ()-[r]->() {DELETE} r",
    "{FOREACH} (i IN [1] | {CREATE} (:Hack {id: 'f'}))",
    "{CALL} { {CREATE} (:Hack {id: 'c'}) }",
    "{DROP} {CONSTRAINT} product_id",
    "{CREATE} {INDEX} hack_id IF NOT EXISTS FOR (n:Hack) ON (n.id)",
    "{INSERT} (:Hack {id: 'i'})",
]
PREFIXES = [
    "",
    "WITH '//' AS a ",
    'WITH "/*" AS a ',
    "WITH '*/' AS a ",
    "WITH 'it\\'s' AS a ",
    "WITH 1 AS `it's` ",
    'WITH 1 AS `a"b` ',
    "WITH 1 AS `/*` ",
    "WITH 1 AS `x``y` ",
    "// a comment\n",
    "/* a comment */ ",
    "WITH 'CREATE (:Hack)' AS a ",
    # clause words the guard takes as names in these places, and "as" that is no AS
    # (each yields rows on the seeded graph, so the server meets the write)
    "MATCH (start:User) WITH start AS use ",
    "WITH {set: 1, create: 2} AS m ",
    "MATCH (n) WHERE n.as IS NULL ",
    "OPTIONAL MATCH (n:as) WITH count(n) AS c ",
    "WITH 1 AS as ",
    "WITH 1 AS as WITH as ",
    "MATCH (as:Product) WITH DISTINCT as ",
]
SEPARATORS = [" ", "\n", "\t", "/**/", "/* ' */", "\r\n", "// \u2028 '\n", '// \u2029 "\n']
SUFFIXES = ["", " WITH 1 AS z RETURN z", " WITH a, '*/' AS b RETURN a, b", " // '", " /* ` */"]
_KEYWORD = re.compile(r"\{([A-Z]+)\}")


@st.composite
def write_queries(draw: st.DrawFn) -> str:
    """A real write clause, its keywords in random case, wrapped in literals and comments."""
    clause = draw(st.sampled_from(CLAUSES))

    def recase(match: re.Match[str]) -> str:
        word = match.group(1)
        upper = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
        return "".join(c if u else c.lower() for c, u in zip(word, upper, strict=True))

    body = _KEYWORD.sub(recase, clause)
    return (
        draw(st.sampled_from(PREFIXES))
        + draw(st.sampled_from(SEPARATORS))
        + body
        + draw(st.sampled_from(SUFFIXES))
    )


@pytest.fixture(scope="module")
def seeded(_embedded_store: GraphStore) -> Iterator[GraphStore]:
    """Products, a brand, a user and interactions: something for each write to change."""
    store = _embedded_store
    store.delete_all()
    store.upsert_products(
        [{"id": f"p{i}", "title": f"Product {i}", "brand_id": "b1"} for i in range(3)]
    )
    store.upsert_users([{"id": "u1", "attrs": {"country": "DE"}}])
    store.upsert_interactions(
        [{"user_id": "u1", "product_id": f"p{i}", "kind": "view", "ts": i} for i in range(3)]
    )
    yield store
    store.delete_all()


def _driver(settings: Settings, *, read_only: bool) -> Iterator[neo4j.Driver]:
    server = embedded_server(settings.graph, settings.data_dir)
    status = server.status()
    assert status.uri is not None
    auth = server.reader_auth if read_only else server.auth
    with neo4j.GraphDatabase.driver(status.uri, auth=auth) as driver:
        yield driver


@pytest.fixture(scope="module")
def admin(settings: Settings) -> Iterator[neo4j.Driver]:
    yield from _driver(settings, read_only=False)


@pytest.fixture(scope="module")
def reader(settings: Settings) -> Iterator[neo4j.Driver]:
    yield from _driver(settings, read_only=True)


@settings(max_examples=300, deadline=None)
@given(write_queries())
def test_the_guard_rejects_every_wrapped_write(query: str) -> None:
    with pytest.raises(WriteQueryRejectedError):
        ensure_read_only(query)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=write_queries())
def test_cypher_never_changes_the_graph(
    seeded: GraphStore, admin: neo4j.Driver, query: str
) -> None:
    before = fingerprint(admin, seeded.database)
    with pytest.raises(WriteQueryRejectedError):
        seeded.cypher(query)
    assert fingerprint(admin, seeded.database) == before


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=write_queries())
def test_the_read_only_account_changes_nothing_without_the_guard(
    seeded: GraphStore, admin: neo4j.Driver, reader: neo4j.Driver, query: str
) -> None:
    before = fingerprint(admin, seeded.database)
    with pytest.raises(neo4j.exceptions.Neo4jError), reader.session(database=seeded.database) as s:
        s.run(query).consume()  # the attack text, unguarded on purpose
    assert fingerprint(admin, seeded.database) == before


@pytest.mark.parametrize("prefix", PREFIXES)
def test_every_prefix_leaves_the_server_a_write_to_refuse(
    seeded: GraphStore, admin: neo4j.Driver, reader: neo4j.Driver, prefix: str
) -> None:
    """Each prefix yields rows, so the write after it reaches the server (which refuses it)."""
    before = fingerprint(admin, seeded.database)
    with pytest.raises(neo4j.exceptions.Neo4jError), reader.session(database=seeded.database) as s:
        s.run(prefix + " MERGE (:Hack {id: 'p'})").consume()
    assert fingerprint(admin, seeded.database) == before


@pytest.mark.parametrize(
    "query",
    [
        "CREATE (:Hack {id: 'h'})",
        "MATCH (n:Product) SET n.title = 'pwned'",
        "MATCH (n) DETACH DELETE n",
        "CREATE INDEX hack_id IF NOT EXISTS FOR (n:Hack) ON (n.id)",
        "SHOW USERS",
    ],
)
def test_the_server_refuses_the_reader_as_forbidden(
    seeded: GraphStore, reader: neo4j.Driver, query: str
) -> None:
    with (
        pytest.raises(neo4j.exceptions.Forbidden),
        reader.session(database=seeded.database) as session,
    ):
        session.run(query).consume()


def test_the_reader_reads(seeded: GraphStore, reader: neo4j.Driver) -> None:
    with reader.session(database=seeded.database) as session:
        count = session.run("MATCH (p:Product) RETURN count(p) AS n").single(strict=True)["n"]
    assert count == 3


def test_relationships_keep_type_properties_and_ends(seeded: GraphStore) -> None:
    frame = seeded.cypher("MATCH (:User)-[i:INTERACTED]->() RETURN i ORDER BY i.ts LIMIT 2")
    first = frame["i"].iloc[0]
    assert first["type"] == "INTERACTED"
    assert (first["start"], first["end"]) == ("u1", "p0")
    assert first["properties"]["kind"] == "view"
    assert first["properties"]["ts"] == 0
    path = seeded.cypher("MATCH p = (u:User)-[:INTERACTED]->(x:Product {id: 'p1'}) RETURN p")[
        "p"
    ].iloc[0]
    assert [path[0]["id"], path[1]["type"], path[2]["id"]] == ["u1", "INTERACTED", "p1"]
    assert (path[1]["start"], path[1]["end"]) == ("u1", "p1")


def test_secret_files_are_private(settings: Settings, seeded: GraphStore) -> None:
    paths = [Path(settings.data_dir) / "server" / n for n in ("password", "reader-password")]
    paths.append(Path(settings.data_dir) / "server" / "state.json")
    for path in paths:
        assert path.stat().st_mode & 0o777 == 0o600, path


def test_a_refused_reader_account_says_how_to_fix_it(settings: Settings) -> None:
    server = embedded_server(settings.graph, settings.data_dir)
    status = server.status()
    assert status.uri is not None and status.database is not None
    wrong = ("kgrec_reader", "not-the-password")
    with (
        connect_store(
            settings.graph, status.uri, server.auth, status.database, reader_auth=wrong
        ) as store,
        pytest.raises(GraphConnectionError, match="kgrec graph stop && kgrec graph start"),
    ):
        store.cypher("RETURN 1 AS one")


def test_a_reader_refused_for_its_database_is_not_told_the_query_writes(
    store: GraphStore,
) -> None:
    """The read-only account refused for a reason other than a write: the database.

    The server answers Security.Forbidden (here: "Access to database ... is not
    allowed", as for a KGREC_GRAPH__NEO4J_DATABASE the account may not use). Failed
    before: WriteQueryRejectedError "refused the query as a write", for a query
    that only reads.
    """
    # the session's drivers, for a database the reader is no member of (not closed here)
    elsewhere = GraphStore(
        store._driver, "kgrec-elsewhere", store.uri, store.options, reader=store._reader
    )
    with pytest.raises(QueryError) as refused:
        elsewhere.cypher("MATCH (n) RETURN count(n) AS n")
    assert not isinstance(refused.value, WriteQueryRejectedError)
    message = str(refused.value)
    assert "as a write" not in message and "kgrec-elsewhere" in message, message
    assert "KGREC_GRAPH__NEO4J_DATABASE" in message, message
