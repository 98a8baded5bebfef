"""Pseudonymised shopper ids in the service.

With ``KGREC_PSEUDONYMISE_SALT`` set, the id a client sends is answered as ever,
while the graph, the event-id ledger and every file under the data directory hold
only its keyed hash (``kgrec users delete`` too).
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from kgrec.api.cli import app as cli
from kgrec.errors import NotFoundError
from kgrec.graph import GraphStore
from kgrec.pseudonym import Pseudonymiser
from kgrec.settings import Settings
from tests.utils.api import API_KEY, ClientFactory
from tests.utils.files import files_holding

pytestmark = pytest.mark.neo4j

SALT = "pseudo-api-salt-a41f93d2"
SHOPPER = "pseudo-api-shopper-6b1e"  # raw ids no other test sends
LATER = "pseudo-api-shopper-d07c"
HEADERS = {"X-API-Key": API_KEY}
HASHED = Pseudonymiser.from_salt(SALT)
GRAPH_TEXT = (
    "MATCH (n) RETURN properties(n) AS p UNION ALL MATCH ()-[r]->() RETURN properties(r) AS p"
)
USER_NODE = "MATCH (u:User {id: $id}) RETURN u.id AS id"


def _events(user_id: str, tag: str) -> dict[str, object]:
    return {
        "events": [
            {"user_id": user_id, "product_id": "p001", "kind": "purchase", "event_id": f"{tag}1"},
            {"user_id": user_id, "product_id": "p002", "kind": "view", "event_id": f"{tag}2"},
        ]
    }


def _has_user(store: GraphStore, user_id: str) -> bool:
    return not store.cypher(USER_NODE, {"id": user_id}).empty


def test_the_service_answers_the_raw_id_and_stores_only_its_pseudonym(
    make_client: ClientFactory, sample_store: GraphStore, settings: Settings
) -> None:
    pseudonym = HASHED(SHOPPER)
    with make_client(sample_store, pseudonymise_salt=SALT) as client:
        sent = client.post("/events", json=_events(SHOPPER, "pseudo-e"), headers=HEADERS)
        assert sent.status_code == 201, sent.text
        assert sent.json()["users_updated"] == [pseudonym]
        again = client.post("/events", json=_events(SHOPPER, "pseudo-e"), headers=HEADERS)
        assert again.json()["repeated"] == 2  # the ledger knows the event ids by pseudonym
        declared = {"attributes": {"segment": "pseudo-segment"}}
        put = client.put(f"/users/{SHOPPER}", json=declared, headers=HEADERS)
        assert put.status_code == 200 and put.json()["created"] is False, put.text
        held = sample_store.nodes_by_id("User", [pseudonym])
        assert held[pseudonym]["segment"] == "pseudo-segment"

        ranked = client.get("/recommendations", params={"user_id": SHOPPER, "k": "5"})
        assert ranked.status_code == 200, ranked.text
        assert ranked.json()["user_known"] and ranked.json()["strategy"] == "user"
        searched = client.post("/search", json={"query": "trail shoe", "user_id": SHOPPER})
        assert searched.status_code == 200 and searched.json()["user_known"], searched.text
        explained = client.get("/explain", params={"user_id": SHOPPER, "item_id": "p001"})
        assert explained.status_code == 200, explained.text
        assert explained.json()["user_id"] == SHOPPER  # the answer echoes the id sent
        assert pseudonym in repr(explained.json()["path"])

        assert _has_user(sample_store, pseudonym) and not _has_user(sample_store, SHOPPER)
        assert SHOPPER not in repr(sample_store.cypher(GRAPH_TEXT)["p"].tolist())
        assert files_holding(settings.data_dir, SHOPPER.encode()) == []
        ledger = files_holding(settings.data_dir / "api", pseudonym.encode())
        assert ledger, "the event-id ledger holds no event: the grep above cannot fail"

        deleted = client.delete(f"/users/{SHOPPER}", headers=HEADERS)
        assert deleted.status_code == 200, deleted.text
        assert deleted.json()["graph_node"] and deleted.json()["relationships"] == 2
        assert not _has_user(sample_store, pseudonym)
        kept = files_holding(settings.data_dir, pseudonym.encode())  # see test_forget.py
        assert all(p.startswith("graph/") and p.endswith(("tidx", ".wal")) for p in kept), kept


def test_without_the_salt_the_pseudonymised_shopper_is_a_stranger(
    make_client: ClientFactory, sample_store: GraphStore
) -> None:
    """Another salt (or none) orphans every shopper stored under the old one."""
    with make_client(sample_store, pseudonymise_salt=SALT) as client:
        sent = client.post("/events", json=_events(SHOPPER, "pseudo-s"), headers=HEADERS)
        assert sent.status_code == 201, sent.text
    for salt in (None, "a-different-salt-of-length"):
        with make_client(sample_store, pseudonymise_salt=salt) as client:
            path = client.get("/explain", params={"user_id": SHOPPER, "item_id": "p001"})
            assert path.status_code == 404, path.text
    assert _has_user(sample_store, HASHED(SHOPPER))


def test_kgrec_users_delete_hashes_the_id(
    make_client: ClientFactory, sample_store: GraphStore, settings: Settings
) -> None:
    with make_client(sample_store, pseudonymise_salt=SALT) as client:
        sent = client.post("/events", json=_events(LATER, "pseudo-c"), headers=HEADERS)
        assert sent.status_code == 201, sent.text
    env = {"KGREC_DATA_DIR": str(settings.data_dir), "KGREC_GRAPH__EMBEDDED_HEAP_MB": "512"}
    unsalted = CliRunner().invoke(cli, ["users", "delete", LATER], env=env)
    assert isinstance(unsalted.exception, NotFoundError), unsalted.output
    assert _has_user(sample_store, HASHED(LATER))

    salted = CliRunner().invoke(
        cli, ["users", "delete", LATER], env=env | {"KGREC_PSEUDONYMISE_SALT": SALT}
    )
    assert salted.exit_code == 0, salted.output
    assert "node and 2 relationships deleted" in salted.output
    assert not _has_user(sample_store, HASHED(LATER))
    assert LATER not in salted.output
