"""Reasons (api/reasons.py): grounded in what ranked a product, told in words.

They are read from the graph in one query per answer. On the four-genre shop with
directors (tests/utils/shop.py): products of one genre share a brand, a category
and, by parity, a named director or one without a name (a Freebase-style id).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from kgrec.api import reasons
from kgrec.api.app import create_app
from kgrec.api.engine import Engine
from kgrec.api.ranking import (
    RankedItem,
    RankedList,
    ReasonNode,
    ReasonProduct,
    ScoreBreakdown,
)
from kgrec.api.wiring import Services
from kgrec.errors import GraphConnectionError
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.graph import GraphStore
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder
from tests.utils.shop import DIRECTED_BY, Shop, load_genre_shop, shop_engine, trained_shop

# Unit tests of the reasons: no graph, no model ----------------------------------------


def _item(product_id: str, score: ScoreBreakdown | None = None) -> RankedItem:
    score = score or ScoreBreakdown(graph=0.1, text=0.0, popularity=0.05, total=0.15)
    return RankedItem(product_id, f"title {product_id}", None, True, None, (), score)


def _grounds(**overrides: Any) -> reasons.Grounds:
    values: dict[str, Any] = {
        "user_id": "u1",
        "user_known": True,
        "query": None,
        "history": np.array([0], np.int64),
        "context": np.zeros(0, np.int64),
        "proposers": {1: ("item_knn",)},
    }
    values.update(overrides)
    return reasons.Grounds(**values)


def test_only_co_interaction_reads_as_shoppers_who_chose_it() -> None:
    via = reasons.Via(0, ReasonProduct("p0", "Star Wars"), "item_knn", context=False)
    pair = {"via": "p0", "item": "p1", "shared": [], "kinds": ["rate"]}
    reason = reasons.make_reason(_item("p1"), ("item_knn",), via, pair, _grounds())  # type: ignore[arg-type]
    assert reason.sentence == "Because you rated Star Wars: shoppers who chose it also chose this"
    assert reason.kind == "history" and reason.via is not None and reason.via.id == "p0"
    assert [s.as_dict()["type"] for s in reason.path if not isinstance(s, ReasonNode)] == [
        "INTERACTED",
        "SIMILAR",
    ]


def test_a_next_item_link_reads_as_shoppers_going_on_to_it() -> None:
    via = reasons.Via(0, ReasonProduct("p0", "Alien"), "next_item", context=False)
    pair = {"via": "p0", "item": "p1", "shared": [], "kinds": ["rate"]}
    grounds = _grounds(proposers={1: ("next_item",)})
    reason = reasons.make_reason(_item("p1"), ("next_item",), via, pair, grounds)  # type: ignore[arg-type]
    said = "Because you rated Alien: shoppers who chose it went on to choose this"
    assert reason.sentence == said


def test_a_shopper_without_history_gets_the_query_or_popularity() -> None:
    anonymous = _grounds(user_id=None, user_known=False, history=np.zeros(0, np.int64))
    by_query = reasons.make_reason(
        _item("p1"),
        ("popularity", "query"),
        None,
        None,
        reasons.Grounds(**{**anonymous.__dict__, "query": "horror"}),
    )
    assert by_query.sentence == "Matches your search 'horror'" and by_query.kind == "query"
    popular = reasons.make_reason(_item("p1"), ("gnn", "popularity"), None, None, anonymous)
    assert popular.sentence == "Popular with shoppers" and popular.kind == "popularity"
    peers = reasons.make_reason(_item("p1"), ("peer_popularity",), None, None, anonymous)
    assert peers.sentence == "Popular with shoppers"  # unknown: every shopper votes alike
    known = _grounds(history=np.zeros(0, np.int64))  # a vector, no peers of its own
    assert reasons.make_reason(_item("p1"), ("peer_popularity",), None, None, known).sentence == (
        "Popular with shoppers"
    )
    # ALS solves a shopper from its history: with none it proposed popular products
    assert reasons.make_reason(_item("p1"), ("als",), None, None, known).sentence == (
        "Popular with shoppers"
    )
    with_history = reasons.make_reason(_item("p1"), ("als",), None, None, _grounds())
    assert with_history.sentence == "Shoppers with tastes like yours chose it"
    declared = _grounds(history=np.zeros(0, np.int64), has_peers=True)
    alike = reasons.make_reason(_item("p1"), ("peer_popularity",), None, None, declared)
    assert alike.sentence == "Popular with shoppers like you" and alike.kind == "popularity"


def test_the_fused_ranking_names_its_largest_term() -> None:
    fused = _grounds(proposers=None, history=np.zeros(0, np.int64))
    item = _item("p1", ScoreBreakdown(graph=0.9, text=0.1, popularity=0.05, total=1.05))
    [explained] = reasons.explain_items(
        [item],
        [1],
        fused,
        product=lambda r: ReasonProduct(f"p{r}", f"title p{r}"),
        tables={},
        texts=None,
        read_links=None,
    )
    assert explained.reason is not None
    assert explained.reason.generators == ("graph",)
    assert explained.reason.sentence == "Close to your taste, as the graph model learned it"
    assert explained.explanation is None


# On the shop, trained and served ------------------------------------------------------


@pytest.fixture(scope="module")
def trained(
    _embedded_store: GraphStore, shop_settings: Settings, encoder: TextEncoder
) -> tuple[Shop, ArtifactSet]:
    """The shop with directors in the graph, trained and embedded."""
    return trained_shop(_embedded_store, shop_settings, encoder, directors=True)


@pytest.fixture
def shop_store(store: GraphStore) -> GraphStore:
    """The session's graph holding the shop with directors (other tests empty it)."""
    load_genre_shop(store, directors=True)
    return store


@pytest.fixture
def engine(
    trained: tuple[Shop, ArtifactSet],
    shop_settings: Settings,
    encoder: TextEncoder,
    shop_store: GraphStore,
) -> Engine:
    """A serving engine over the trained shop's artifacts and the graph holding the shop."""
    return shop_engine(shop_settings, trained[1], encoder, shop_store)


def _reads(store: GraphStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Spy on the real store: every read it sends to the server is appended (by method)."""
    sent: list[str] = []
    for name in ("_read", "_read_plain", "cypher"):
        real: Callable[..., Any] = getattr(store, name)

        def spy(*args: Any, _real: Callable[..., Any] = real, _name: str = name, **kw: Any) -> Any:
            sent.append(_name)
            return _real(*args, **kw)

        monkeypatch.setattr(store, name, spy)
    return sent


def _fans(shop: Shop) -> list[str]:
    return [u for g in ("horror", "comedy", "scifi", "western") for u in shop.fans(g)[:3]]


def test_a_reason_names_the_history_product_and_the_shared_director(
    trained: tuple[Shop, ArtifactSet], engine: Engine
) -> None:
    shop, _ = trained
    named = unnamed = 0
    for user in _fans(shop):
        answer = engine.recommend(user, k=10, explain=True)
        assert answer.ranking == "learned"
        for item in answer.items:
            reason = item.reason
            assert reason is not None and reason.sentence, item
            if reason.via is None:
                continue
            # the history product is the shopper's, named by its title
            assert reason.via.id in shop.history[user], (user, reason)
            assert reason.sentence.startswith(f"Because you bought {reason.via.title}: ")
            directors = [r for r in reason.relations if r.relation == DIRECTED_BY]
            if not directors:
                continue
            # a shared director is a director of both products, as the graph holds it
            [director] = directors
            assert director.node.id == shop.director_of[item.id] == shop.director_of[reason.via.id]
            assert director.label == "directed by"
            name = shop.director_name[director.node.id]
            if name is not None:
                assert f"both directed by {name}" in reason.sentence, reason
                named += 1
            else:
                assert "both directed by the same person" in reason.sentence, reason
                assert director.node.id not in reason.sentence
                assert director.node.name is None
                unnamed += 1
            # the path: shopper -[bought]-> history product -[directed by]- director - product
            assert [step.as_dict() for step in reason.path] == item.explanation
            assert item.explanation is not None
            assert [s.get("id") for s in item.explanation[::2]] == [
                user,
                reason.via.id,
                director.node.id,
                item.id,
            ]
            assert item.explanation[1] == {"type": "INTERACTED", "kind": "purchase"}
    assert named and unnamed, (named, unnamed)


def test_reasons_do_not_change_the_ranking(
    trained: tuple[Shop, ArtifactSet], engine: Engine
) -> None:
    shop, _ = trained
    for user in _fans(shop)[:4]:
        for query in (None, "western"):
            plain = engine.recommend(user, k=10, query=query)
            explained = engine.recommend(user, k=10, query=query, explain=True)
            assert [(i.id, i.score) for i in explained.items] == [
                (i.id, i.score) for i in plain.items
            ]
            assert all(i.reason is None for i in plain.items)


def test_one_graph_read_explains_the_whole_answer(
    trained: tuple[Shop, ArtifactSet],
    engine: Engine,
    shop_store: GraphStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shop, _ = trained
    user = shop.fans("scifi")[0]
    sent = _reads(shop_store, monkeypatch)
    answer = engine.recommend(user, k=10, explain=True)
    # the purchase lookup of the history filter, and one read for all ten reasons
    assert len(sent) <= 2, sent
    assert sum(1 for i in answer.items if i.reason and i.reason.relations) >= 5, answer.items
    sent.clear()
    engine.recommend(user, k=10, explain=True, query="robot starship")
    assert len(sent) <= 1, sent  # the purchase lookup is cached now
    sent.clear()
    engine.recommend(user, k=10)
    assert sent == []  # no reasons asked for: no graph read


def test_without_history_a_reason_is_the_query_the_context_or_popularity(
    trained: tuple[Shop, ArtifactSet], engine: Engine
) -> None:
    shop, _ = trained
    searched = engine.recommend(None, k=5, query="horror", explain=True)
    for item in searched.items:
        assert item.reason is not None
        assert item.reason.sentence.startswith("Matches your search 'horror'"), item.reason
        assert item.reason.kind == "query" and "query" in item.reason.generators
    popular = engine.recommend("nobody-yet", k=5, explain=True)
    for item in popular.items:
        assert item.reason is not None
        assert item.reason.sentence == "Popular with shoppers", item.reason
        assert item.reason.via is None and item.explanation is None
    context = next(p for p, g in shop.genre_of.items() if g == "comedy")
    viewing = engine.recommend(None, k=5, context_item=context, explain=True)
    told = [i.reason for i in viewing.items if i.reason and i.reason.kind == "context"]
    assert told, [i.reason for i in viewing.items]
    for reason in told:
        assert reason.via is not None and reason.via.id == context
        assert reason.sentence.startswith(f"Because you are viewing {reason.via.title}: ")
        assert reason.path[0] == ReasonNode(context, "Product", reason.via.title)


def test_reasons_survive_a_graph_outage(
    trained: tuple[Shop, ArtifactSet],
    shop_settings: Settings,
    encoder: TextEncoder,
    shop_store: GraphStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shop, artifacts = trained
    user = shop.fans("western")[0]

    def check(answer: RankedList) -> None:
        assert len(answer.items) == 10
        vias = [i.reason.via for i in answer.items if i.reason and i.reason.via]
        assert vias, "without the graph the history product still comes from the tables"
        for item in answer.items:
            assert item.reason is not None and item.reason.relations == ()
            if item.reason.via is not None:
                assert item.reason.via.id in shop.history[user]
                assert item.reason.sentence.startswith(
                    f"Because {item.reason.via.title} is in your history: "
                ), item.reason

    # no graph at all
    check(shop_engine(shop_settings, artifacts, encoder, None).recommend(user, k=10, explain=True))

    def down(*args: Any, **kwargs: Any) -> Any:
        raise GraphConnectionError("lost the graph server (test)")

    # the server goes away between the purchase lookup and the reasons' read
    engine = shop_engine(shop_settings, artifacts, encoder, shop_store)
    monkeypatch.setattr(shop_store, "_read_plain", down)
    check(engine.recommend(user, k=10, explain=True))
    assert not engine.graph_up()  # marked down: the next requests do not wait on it
    # and is gone for every read
    monkeypatch.setattr(shop_store, "_read", down)
    check(
        shop_engine(shop_settings, artifacts, encoder, shop_store).recommend(
            user, k=10, explain=True
        )
    )


def test_the_fused_ranking_explains_too(
    trained: tuple[Shop, ArtifactSet],
    shop_settings: Settings,
    encoder: TextEncoder,
    shop_store: GraphStore,
) -> None:
    shop, artifacts = trained
    settings = shop_settings.updated(serving={"ranker": False})
    engine = shop_engine(settings, artifacts, encoder, shop_store)
    fan = shop.fans("horror")[0]
    answer = engine.recommend(fan, k=5, explain=True)
    assert answer.ranking == "fused"
    for item in answer.items:
        assert item.reason is not None and item.reason.kind in ("taste", "popularity")
        assert item.reason.generators in (("graph",), ("popularity",), ("text",))
    searched = engine.recommend(None, k=5, query="haunted ghost", explain=True)
    assert any(i.reason and i.reason.kind == "query" for i in searched.items)
    context = next(p for p, g in shop.genre_of.items() if g == "western")
    viewing = engine.recommend(None, k=5, context_item=context, explain=True)
    for item in viewing.items:
        assert item.reason is not None and item.reason.via is not None
        assert item.reason.via.id == context and item.reason.kind == "context"
        if shop.genre_of[item.id] == "western":  # same brand and category in the graph
            assert {r.type for r in item.reason.relations} >= {"HAS_BRAND", "IN_CATEGORY"}


def test_the_api_answers_reasons_as_typed_json(
    trained: tuple[Shop, ArtifactSet],
    shop_settings: Settings,
    encoder: TextEncoder,
    shop_store: GraphStore,
) -> None:
    shop, artifacts = trained

    @contextlib.contextmanager
    def services(s: Settings) -> Iterator[Services]:
        yield Services(
            settings=s, engine=shop_engine(s, artifacts, encoder, shop_store), store=None
        )

    user = shop.fans("comedy")[1]
    with TestClient(create_app(shop_settings, services)) as client:
        plain = client.get("/recommendations", params={"user_id": user, "k": 10}).json()
        assert all(i["reason"] is None for i in plain["items"])
        body = client.get(
            "/recommendations", params={"user_id": user, "k": 10, "explain": "true"}
        ).json()
    assert [i["id"] for i in body["items"]] == [i["id"] for i in plain["items"]]
    for item in body["items"]:
        reason = item["reason"]
        assert set(reason) == {"sentence", "kind", "generators", "via", "relations", "path"}
        assert reason["sentence"] and reason["generators"]
        if reason["via"] is not None:
            assert set(reason["via"]) == {"id", "title"}
            assert reason["via"]["id"] in shop.history[user]
            assert item["explanation"] == [
                {k: v for k, v in step.items() if v is not None or k == "name"}
                for step in reason["path"]
            ]
        for relation in reason["relations"]:
            assert set(relation) == {"label", "type", "relation", "node"}
            assert set(relation["node"]) >= {"id", "label", "name"}
