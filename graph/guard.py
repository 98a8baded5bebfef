"""The exploration guard: reject Cypher that could write before it reaches the server.

ArcadeDB does not enforce read access mode on Bolt, so kgrec checks the text
itself (and still runs exploration in a read transaction, which Neo4j enforces).
"""

from __future__ import annotations

import re
from typing import Final

from kgrec.errors import WriteQueryRejectedError

# Write clauses and administration commands, matched as whole words on the query
# with strings, comments, quoted names and property / label / parameter names removed.
WRITE_CLAUSES: Final = {
    "CREATE": r"\bCREATE\b",
    "MERGE": r"\bMERGE\b",
    "SET": r"\bSET\b",
    "DELETE": r"\bDELETE\b",
    "REMOVE": r"\bREMOVE\b",
    "DROP": r"\bDROP\b",
    "FOREACH": r"\bFOREACH\b",
    "LOAD CSV": r"\bLOAD\s+CSV\b",
    "IN TRANSACTIONS": r"\bIN\s+TRANSACTIONS\b",
    "ALTER": r"\bALTER\s+(DATABASE|USER|ALIAS|SERVER|CURRENT)\b",
    "RENAME": r"\bRENAME\s+(USER|ROLE|CONSTRAINT|INDEX)\b",
    "GRANT/DENY/REVOKE": r"\b(GRANT|DENY|REVOKE)\b",
    "START/STOP DATABASE": r"\b(START|STOP)\s+DATABASE\b",
    "TERMINATE": r"\bTERMINATE\s+TRANSACTIONS?\b",
}
# Procedures that only read; any other CALL is treated as a possible write.
READ_PROCEDURES: Final = frozenset(
    {
        "db.labels",
        "db.relationshiptypes",
        "db.propertykeys",
        "db.schema.visualization",
        "db.schema.nodetypeproperties",
        "db.schema.reltypeproperties",
        "db.indexes",
        "db.constraints",
        "db.info",
        "dbms.components",
        "dbms.procedures",
        "dbms.functions",
    }
)

_STRINGS = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", re.DOTALL)
_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_QUOTED_NAMES = re.compile(r"`[^`]*`")
_PROPERTY = re.compile(r"[.:$]\s*[A-Za-z_][A-Za-z0-9_]*")
_CLAUSES: Final = {name: re.compile(p, re.IGNORECASE) for name, p in WRITE_CLAUSES.items()}
_CALL = re.compile(r"\bCALL\s*(\{|[A-Za-z_][A-Za-z0-9_.]*)", re.IGNORECASE)


def _strip(query: str) -> str:
    """The query with comments, strings, quoted names and property/label/param names blanked."""
    text = _COMMENTS.sub(" ", query)
    text = _STRINGS.sub(" '' ", text)
    text = _QUOTED_NAMES.sub(" x ", text)
    return text


def ensure_read_only(query: str) -> None:
    """Raise :class:`WriteQueryRejectedError` when ``query`` contains a write clause.

    Rejected: every clause in :data:`WRITE_CLAUSES` (CREATE, MERGE, SET, DELETE,
    REMOVE, DROP, FOREACH, LOAD CSV, ``IN TRANSACTIONS``, administration) and any
    ``CALL`` of a procedure outside :data:`READ_PROCEDURES`.
    """
    text = _strip(query)
    for match in _CALL.finditer(text):
        target = match.group(1)
        if target == "{":
            continue  # a subquery: its clauses are checked below like the rest
        if target.lower() not in READ_PROCEDURES:
            raise WriteQueryRejectedError(
                f"exploration queries may only CALL read procedures "
                f"({', '.join(sorted(READ_PROCEDURES))}); got CALL {target}"
            )
    bare = _PROPERTY.sub(" ", text)
    found = [name for name, pattern in _CLAUSES.items() if pattern.search(bare)]
    if found:
        raise WriteQueryRejectedError(
            f"exploration queries are read-only; this one contains {', '.join(found)}. "
            "Write through `kgrec import` or the Python API (graph.GraphStore upserts)."
        )
