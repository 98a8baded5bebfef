"""The HTTP models (api/schemas.py, api/ranked_schemas.py).

One filters model for the query string and the body, request models that make
their graph rows, answer models read from the result objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kgrec.api.app import create_app
from kgrec.api.ranked_schemas import RankedOut
from kgrec.api.ranking import (
    RankedItem,
    RankedList,
    Reason,
    ReasonLink,
    ReasonNode,
    ReasonProduct,
    ReasonRelation,
    ScoreBreakdown,
)
from kgrec.api.schemas import EventIn, ItemFields, ItemIn
from tests.utils.settings import make_settings

QUERY_NAME = {
    "categories": "category",
    "brands": "brand",
    "min_price": "min_price",
    "max_price": "max_price",
    "in_stock_only": "in_stock_only",
}


def _untitled(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k != "title"}


def test_get_and_post_state_the_same_filters(tmp_path: Path) -> None:
    schema = create_app(make_settings(tmp_path)).openapi()
    body = schema["components"]["schemas"]["SearchIn"]["properties"]
    for path in ("/recommendations", "/items/{item_id}/similar"):
        query = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        for field, name in QUERY_NAME.items():
            assert query[name]["in"] == "query" and not query[name]["required"]
            assert _untitled(query[name]["schema"]) == _untitled(body[field]), (path, name)
    assert body["categories"]["maxItems"] == 50
    assert body["min_price"]["anyOf"][0] == {"maximum": 1e9, "minimum": 0.0, "type": "number"}


def test_events_and_items_make_their_graph_rows() -> None:
    event = EventIn(user_id="u1", product_id="p1", kind="rate", value=4.0)
    assert event.to_row(1_700_000_000) == {
        "user_id": "u1",
        "product_id": "p1",
        "kind": "rate",
        "ts": 1_700_000_000,
        "value": 4.0,
    }
    dated = EventIn(user_id="u1", product_id="p1", kind="view", ts=12)
    assert dated.to_row(1_700_000_000)["ts"] == 12
    merge = ItemIn(id="p9", title="Boots", price=None)
    assert merge.to_row() == {"id": "p9", "title": "Boots", "price": None}
    replace = ItemFields(title="Boots", category_ids=["shoes"]).to_row_for("p9")
    assert replace["id"] == "p9" and replace["category_ids"] == ["shoes"]
    assert replace.get("description", "absent") is None and replace.get("in_stock") is True


def test_a_ranked_answer_is_read_from_the_result_objects() -> None:
    node = ReasonNode(id="b1", label="Brand", name="Northpeak")
    via = ReasonProduct(id="p1", title="Trail shoes")
    reason = Reason(
        sentence="Because you bought Trail shoes: same brand",
        kind="history",
        generators=("item_knn",),
        via=via,
        relations=(ReasonRelation("brand", "HAS_BRAND", None, node),),
        path=(
            ReasonNode(id="u1", label="User"),
            ReasonLink(type="INTERACTED", kind="purchase"),
            ReasonNode(id="p1", label="Product", name="Trail shoes"),
            ReasonLink(type="HAS_BRAND"),
            node,
        ),
    )
    item = RankedItem(
        id="p2",
        title="Road shoes",
        price=80.0,
        in_stock=True,
        brand_id="b1",
        category_ids=("shoes",),
        score=ScoreBreakdown(graph=0.5, text=0.0, popularity=0.1, total=0.6),
        explanation=reason.path_dicts(),
        reason=reason,
    )
    ranked = RankedList([item], "v1", "user", True, candidates=40, notes=["n"])
    out = RankedOut.model_validate(ranked).model_dump()
    assert out["items"][0]["category_ids"] == ["shoes"]
    assert out["items"][0]["score"] == {
        "graph": 0.5,
        "text": 0.0,
        "popularity": 0.1,
        "total": 0.6,
        "ranker": None,
    }
    answer = out["items"][0]["reason"]
    assert answer["via"] == {"id": "p1", "title": "Trail shoes"}
    assert answer["relations"][0]["node"] == {
        "id": "b1",
        "label": "Brand",
        "name": "Northpeak",
        "kind": None,
    }
    assert [step.get("type") or step["label"] for step in answer["path"]] == [
        "User",
        "INTERACTED",
        "Product",
        "HAS_BRAND",
        "Brand",
    ]
    assert answer["path"][1] == {
        "type": "INTERACTED",
        "kind": "purchase",
        "relation": None,
        "generator": None,
    }
    assert out["request_id"] is None and out["arm"] is None and out["candidates"] == 40
