"""Graph helpers for tests: a fingerprint that changes when anything in the graph does."""

from __future__ import annotations

import json

import neo4j

NODES = "MATCH (n) RETURN labels(n) AS labels, properties(n) AS props"
RELATIONSHIPS = (
    "MATCH (a)-[r]->(b) RETURN a.id AS a, type(r) AS type, properties(r) AS props, b.id AS b"
)


def fingerprint(driver: neo4j.Driver, database: str) -> list[str]:
    """Every node (labels, properties) and relationship (ends, type, properties), sorted."""
    rows: list[str] = []
    with driver.session(database=database) as session:
        for query in (NODES, RELATIONSHIPS):
            rows += [json.dumps(r.data(), sort_keys=True, default=str) for r in session.run(query)]
    return sorted(rows)
