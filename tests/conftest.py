"""Shared fixtures: one real Bolt server per test session.

By default that is the embedded ArcadeDB server in a temporary data directory.
With ``KGREC_TEST_NEO4J_URI`` (and ``KGREC_TEST_NEO4J_USER`` /
``KGREC_TEST_NEO4J_PASSWORD`` / ``KGREC_TEST_NEO4J_DATABASE``) set, the graph tests
also run against that Neo4j; otherwise those cases are skipped with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kgrec.graph import GraphStore, open_graph
from kgrec.settings import Settings
from tests.utils.settings import make_settings

NEO4J_ENV = "KGREC_TEST_NEO4J_URI"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's kgrec data directory (embedded graph, caches, artifacts)."""
    return tmp_path_factory.mktemp("kgrec-data")


@pytest.fixture(scope="session")
def settings(data_dir: Path) -> Settings:
    """Settings on the embedded server of the session's data directory."""
    return make_settings(data_dir)


@pytest.fixture(scope="session")
def _embedded_store(settings: Settings) -> Iterator[GraphStore]:
    with open_graph(settings.graph, settings.data_dir) as store:
        yield store


@pytest.fixture(scope="session")
def _neo4j_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    uri = os.environ.get(NEO4J_ENV)
    if not uri:
        pytest.skip(f"{NEO4J_ENV} is not set: no real Neo4j to run the graph tests against")
    s = make_settings(
        tmp_path_factory.mktemp("kgrec-neo4j"),
        graph={
            "neo4j_uri": uri,
            "neo4j_user": os.environ.get("KGREC_TEST_NEO4J_USER", "neo4j"),
            "neo4j_password": os.environ.get("KGREC_TEST_NEO4J_PASSWORD", ""),
            "neo4j_database": os.environ.get("KGREC_TEST_NEO4J_DATABASE", "neo4j"),
        },
    )
    with open_graph(s.graph, s.data_dir) as store:
        yield store


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def any_store(request: pytest.FixtureRequest) -> GraphStore:
    """An empty graph on each server kind: embedded always, Neo4j when configured."""
    name = "_embedded_store" if request.param == "embedded" else "_neo4j_store"
    store: GraphStore = request.getfixturevalue(name)
    store.delete_all()
    return store


@pytest.fixture
def store(_embedded_store: GraphStore) -> GraphStore:
    """An empty graph on the session's embedded server."""
    _embedded_store.delete_all()
    return _embedded_store
