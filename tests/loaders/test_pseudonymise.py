"""Pseudonymised imports.

With a salt, shopper ids are hashed as each chunk is read, so the known-id checks,
the rejects files and the graph hold only pseudonyms.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kgrec.graph import GraphStore
from kgrec.loaders import ColumnMapping, ImportReport
from kgrec.loaders.constants import EntityKind
from kgrec.pseudonym import Pseudonymiser
from kgrec.settings import Settings
from tests.utils.files import files_holding
from tests.utils.loaders import invoke, rejects_of, run, write

SALT = "pseudo-test-salt-5f0c2e9a"
ALICE, BOB, CAROL = "pseudo-alice-81c4", "pseudo-bob-2d7e", "pseudo-carol-c90f"
"""Raw shopper ids no other test writes: a file holding one is a leak."""
GRAPH_TEXT = (
    "MATCH (n) RETURN properties(n) AS p UNION ALL MATCH ()-[r]->() RETURN properties(r) AS p"
)
SHOPPERS = "MATCH (u:User) RETURN u.id AS id ORDER BY id"
BOUGHT = (
    "MATCH (u:User)-[r:INTERACTED]->(p:Product) RETURN u.id AS user, p.id AS product "
    "ORDER BY user, product"
)


def _import(
    store: GraphStore,
    settings: Settings,
    files: dict[EntityKind, Path],
    mapping: ColumnMapping | None = None,
) -> ImportReport:
    return run(store, settings, files, mapping=mapping, pseudonymise=Pseudonymiser.from_salt(SALT))


def _graph_text(store: GraphStore) -> str:
    return repr(store.cypher(GRAPH_TEXT)["p"].tolist())


@pytest.fixture
def shop_files(tmp_path: Path) -> dict[EntityKind, Path]:
    """Write the import files: two products, two declared shoppers and their events.

    Alice and Bob are declared (Bob with spaces around his id); events of Alice, Bob
    and Carol (not declared: rejected), and one of Alice's for an unknown product.
    """
    return {
        "products": write(tmp_path, "products.csv", "id,title\np1,Lamp\np2,Chair"),
        "users": write(tmp_path, "users.csv", f'id,segment\n{ALICE},night owl\n" {BOB} ",early'),
        "interactions": write(
            tmp_path,
            "events.csv",
            f"""user_id,product_id,kind,ts
            {ALICE},p1,purchase,100
            {BOB},p2,view,101
            {CAROL},p1,view,102
            {ALICE},p9,view,103""",
        ),
    }


def test_the_graph_and_the_rejects_hold_only_pseudonyms(
    store: GraphStore, settings: Settings, shop_files: dict[EntityKind, Path]
) -> None:
    hashed = Pseudonymiser.from_salt(SALT)
    report = _import(store, settings, shop_files)
    assert report.counts["users"].created == 2
    assert report.counts["interactions"].accepted == 2 and report.rejected == 2

    assert store.cypher(SHOPPERS)["id"].tolist() == sorted([hashed(ALICE), hashed(BOB)])
    bought = store.cypher(BOUGHT).to_dict("records")
    assert bought == sorted(
        [{"user": hashed(ALICE), "product": "p1"}, {"user": hashed(BOB), "product": "p2"}],
        key=lambda r: r["user"],
    )
    assert store.nodes_by_id("User", [hashed(ALICE)])[hashed(ALICE)]["segment"] == "night owl"
    text = _graph_text(store)
    assert all(raw not in text for raw in (ALICE, BOB, CAROL)), text

    rejects = {r["reason"]: r for r in rejects_of(report)}
    unknown_user = next(r for reason, r in rejects.items() if reason.startswith("unknown user"))
    assert unknown_user["user_id"] == hashed(CAROL) and hashed(CAROL) in unknown_user["reason"]
    unknown_product = next(r for r in rejects.values() if r["product_id"] == "p9")
    assert unknown_product["user_id"] == hashed(ALICE)

    for raw in (ALICE, BOB, CAROL):  # nothing kgrec wrote holds a raw id
        assert files_holding(settings.data_dir, raw.encode()) == [], raw
    assert files_holding(settings.data_dir, hashed(CAROL).encode()), "the grep cannot fail"


def test_a_later_import_finds_the_pseudonymised_shoppers(
    store: GraphStore, settings: Settings, shop_files: dict[EntityKind, Path], tmp_path: Path
) -> None:
    """Same salt, same pseudonyms.

    A re-import changes nothing, and events of a later file (a renamed column, a
    JSON number as the id) find their shoppers in the graph.
    """
    hashed = Pseudonymiser.from_salt(SALT)
    _import(store, settings, shop_files)
    again = _import(store, settings, shop_files)
    assert again.counts["users"].unchanged == 2 and again.counts["users"].created == 0
    assert again.counts["interactions"].created == 0

    numbered = write(tmp_path, "numbered.csv", "id\n42")
    _import(store, settings, {"users": numbered})
    later = tmp_path / "later.jsonl"
    later.write_text(
        f'{{"customer": "{BOB}", "product_id": "p1", "kind": "view", "ts": 200}}\n'
        '{"customer": 42, "product_id": "p2", "kind": "view", "ts": 201}\n'
    )
    mapping = ColumnMapping.model_validate({"interactions": {"rename": {"customer": "user_id"}}})
    report = _import(store, settings, {"interactions": later}, mapping)
    assert report.counts["interactions"].created == 2 and report.rejected == 0
    pairs = {(r["user"], r["product"]) for r in store.cypher(BOUGHT).to_dict("records")}
    assert {(hashed(BOB), "p1"), (hashed("42"), "p2")} <= pairs
    assert BOB not in _graph_text(store)


def test_kgrec_import_reads_the_salt_setting(
    store: GraphStore, settings: Settings, shop_files: dict[EntityKind, Path]
) -> None:
    env = {"KGREC_PSEUDONYMISE_SALT": SALT}
    args = ["import", "--users", str(shop_files["users"])]
    result = invoke(settings, *args, env=env)
    assert result.exit_code == 0, result.output
    hashed = Pseudonymiser.from_salt(SALT)
    assert store.cypher(SHOPPERS)["id"].tolist() == sorted([hashed(ALICE), hashed(BOB)])

    short = invoke(settings, *args, env={"KGREC_PSEUDONYMISE_SALT": "short"})
    assert short.exit_code != 0 and "KGREC_PSEUDONYMISE_SALT" in str(short.exception)
    assert len(store.cypher(SHOPPERS)) == 2
