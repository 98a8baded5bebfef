"""Entities (written by triples and links) and brands: a file sets only what it carries."""

from __future__ import annotations

from pathlib import Path

from kgrec.graph import GraphStore
from kgrec.settings import Settings
from tests.utils.loaders import invoke, run, write

ENTITIES = "head,relation,tail,head_kind,tail_kind,head_name,tail_name"


def entities(store: GraphStore, *ids: str) -> dict[str, dict[str, object]]:
    """Each entity's kind and name (None when the node has none)."""
    nodes = store.nodes_by_id("Entity", list(ids))
    return {i: {"kind": nodes[i].get("kind"), "name": nodes[i].get("name")} for i in ids}


def named_entities(store: GraphStore, settings: Settings, tmp_path: Path) -> None:
    """e1 (design, "Chair design") -> e2 (designer, "Ann"), and product p1."""
    products = write(tmp_path, "p.csv", "id,title\np1,Chair")
    triples = write(
        tmp_path, "kg1.csv", f"{ENTITIES}\ne1,designed_by,e2,design,designer,Chair design,Ann"
    )
    assert run(store, settings, {"products": products, "kg": triples}).exit_code == 0


def test_triples_without_kind_or_name_columns_keep_kinds_and_names(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    named_entities(store, settings, tmp_path)
    again = write(
        tmp_path,
        "kg2.csv",
        "head,relation,tail\ne1,designed_by,e2\ne3,designed_by,e2\ne1,made_in,e4",
    )
    report = run(store, settings, {"kg": again})
    assert entities(store, "e1", "e2", "e3", "e4") == {
        "e1": {"kind": "design", "name": "Chair design"},
        "e2": {"kind": "designer", "name": "Ann"},
        "e3": {"kind": "entity", "name": None},  # a new head: the default kind
        "e4": {"kind": "made_in", "name": None},  # a new tail: its relation
    }
    counts = report.counts["entities"]
    assert (counts.rows, counts.created, counts.updated, counts.unchanged) == (4, 2, 0, 2)
    assert counts.removed == 0


def test_empty_kind_and_name_cells_leave_an_entity_as_it_is(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    named_entities(store, settings, tmp_path)
    again = write(tmp_path, "kg2.csv", f"{ENTITIES}\ne1,designed_by,e2,,,,Ann Smith")
    report = run(store, settings, {"kg": again})
    assert entities(store, "e1", "e2") == {
        "e1": {"kind": "design", "name": "Chair design"},
        "e2": {"kind": "designer", "name": "Ann Smith"},
    }
    counts = report.counts["entities"]
    assert (counts.updated, counts.unchanged, counts.removed) == (1, 1, 0)


def test_links_without_kind_or_name_columns_keep_kinds_and_names(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    named_entities(store, settings, tmp_path)
    links = write(tmp_path, "links.csv", "product_id,entity_id,relation\np1,e1,design\np1,e5,tag")
    report = run(store, settings, {"kg_links": links})
    assert report.exit_code == 0
    assert entities(store, "e1", "e5") == {
        "e1": {"kind": "design", "name": "Chair design"},
        "e5": {"kind": "entity", "name": None},
    }
    assert store.count_relationships()["HAS_ENTITY"] == 2


def test_replace_never_removes_entity_names_or_kinds(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    named_entities(store, settings, tmp_path)
    products = write(tmp_path, "p2.csv", "id,title\np1,Chair")
    triples = write(tmp_path, "kg2.csv", "head,relation,tail\ne1,designed_by,e2")
    links = write(tmp_path, "links.csv", "product_id,entity_id\np1,e1")
    result = invoke(
        settings,
        "import",
        "--products",
        str(products),
        "--kg",
        str(triples),
        "--kg-link",
        str(links),
        "--replace",
    )
    assert result.exit_code == 0, result.output
    assert entities(store, "e1", "e2") == {
        "e1": {"kind": "design", "name": "Chair design"},
        "e2": {"kind": "designer", "name": "Ann"},
    }


def test_a_later_file_of_the_same_import_names_entities_an_earlier_one_created(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    products = write(tmp_path, "p.csv", "id,title\np1,Chair")
    triples = write(tmp_path, "kg.csv", "head,relation,tail\ne1,designed_by,e2")
    links = write(
        tmp_path, "links.csv", "product_id,entity_id,kind,name\np1,e1,design,Chair design"
    )
    report = run(store, settings, {"products": products, "kg": triples, "kg_links": links})
    assert report.exit_code == 0
    assert entities(store, "e1", "e2") == {
        "e1": {"kind": "design", "name": "Chair design"},
        "e2": {"kind": "designed_by", "name": None},
    }
    counts = report.counts["entities"]
    assert (counts.rows, counts.created, counts.updated, counts.unchanged) == (2, 2, 0, 0)

    # Again, over the existing graph: e1 is first left as it is, then renamed.
    renamed = write(tmp_path, "links2.csv", "product_id,entity_id,name\np1,e1,Armchair design")
    report = run(store, settings, {"kg": triples, "kg_links": renamed})
    assert entities(store, "e1")["e1"] == {"kind": "design", "name": "Armchair design"}
    counts = report.counts["entities"]
    assert (counts.rows, counts.created, counts.updated, counts.unchanged) == (2, 0, 1, 1)


def test_a_brands_file_without_names_keeps_the_names_and_names_new_brands_by_id(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    first = write(tmp_path, "b1.csv", "id,name\nb1,Acme\nb2,Bolt")
    assert run(store, settings, {"brands": first}).exit_code == 0
    ids_only = write(tmp_path, "b2.csv", "id\nb1\nb3")
    report = run(store, settings, {"brands": ids_only})
    counts = report.counts["brands"]
    assert (counts.created, counts.updated, counts.unchanged, counts.removed) == (1, 0, 1, 0)
    empty_cell = write(tmp_path, "b3.csv", "id,name\nb2,\nb4,")
    run(store, settings, {"brands": empty_cell})
    names = {
        k: v.get("name") for k, v in store.nodes_by_id("Brand", ["b1", "b2", "b3", "b4"]).items()
    }
    assert names == {"b1": "Acme", "b2": "Bolt", "b3": "b3", "b4": "b4"}

    # --replace: a brand is exactly its row, and a row without a name names it by its id.
    result = invoke(settings, "import", "--brands", str(ids_only), "--replace")
    assert result.exit_code == 0, result.output
    assert store.nodes_by_id("Brand", ["b1"])["b1"]["name"] == "b1"
