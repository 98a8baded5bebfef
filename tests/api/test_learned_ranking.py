"""The served learned ranking, checked the way a shopper would.

On a shop of known structure (tests/utils/shop.py): four genres, each shopper a fan
of one.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kgrec.api.engine import Engine
from kgrec.api.index import GRAPH_INDEX, TEXT_INDEX
from kgrec.api.personal import PersonalRanking
from kgrec.api.ranking import Filters
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.gnn.ranking.served import load_ranking
from kgrec.graph import GraphStore, ProductRow
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder
from tests.utils.online import view_event
from tests.utils.shop import Shop, load_genre_shop, shop_engine

pytestmark = pytest.mark.slow


@pytest.fixture
def engine(shop: tuple[Shop, ArtifactSet], shop_settings: Settings, encoder: TextEncoder) -> Engine:
    """A serving engine over the shop's artifacts, without a graph."""
    return shop_engine(shop_settings, shop[1], encoder, None)


@pytest.fixture
def in_graph(
    shop: tuple[Shop, ArtifactSet],
    shop_settings: Settings,
    encoder: TextEncoder,
    store: GraphStore,
) -> Engine:
    """A serving engine over the shop's artifacts and the session's graph holding the shop."""
    load_genre_shop(store)
    return shop_engine(shop_settings, shop[1], encoder, store)


def test_the_served_answer_is_the_evaluated_ranking(
    shop: tuple[Shop, ArtifactSet], shop_settings: Settings, engine: Engine
) -> None:
    """What `kgrec serve` answers is the StagedRanking order `kgrec evaluate` scores."""
    _, artifacts = shop
    assert artifacts.path is not None
    assert (artifacts.path / GRAPH_INDEX).is_file() and (artifacts.path / TEXT_INDEX).is_file()
    stored = load_ranking(artifacts.path)
    assert stored is not None, "kgrec embed wrote no ranking into the artifact version"
    staged = stored.bind(
        torch.from_numpy(np.asarray(artifacts.user_graph)),
        torch.from_numpy(np.asarray(artifacts.product_graph)),
        torch.from_numpy(np.asarray(artifacts.product_text)),
        fresh_share=shop_settings.serving.fresh_share,
        fresh_temperature=shop_settings.serving.fresh_temperature,
    )
    ids = artifacts.products["id"].astype(str).tolist()
    users = artifacts.users["id"].astype(str).tolist()
    # one batch, as `kgrec evaluate` scores its users (gnn/evaluation.py)
    batch = staged.scores(torch.arange(12), stored.interactions)
    lists = staged.ranked(torch.arange(12), stored.interactions)
    for row, (served, scores) in enumerate(lists):  # a request ranks one shopper: same bits
        alone, alone_scores = staged.ranked(torch.tensor([row]), stored.interactions)[0]
        assert torch.equal(served, alone), row
        torch.testing.assert_close(scores, alone_scores, rtol=0, atol=0, equal_nan=True)
    for row, user in enumerate(users[:12]):
        evaluated = batch[row]
        top = evaluated.argsort(descending=True)[:10]
        expected = [ids[i] for i in top.tolist() if torch.isfinite(evaluated[i])]
        answer = engine.recommend(user, k=10)
        assert answer.ranking == "learned"
        assert [i.id for i in answer.items] == expected


def test_the_head_of_the_list_answers_and_filters_read_past_it(
    shop: tuple[Shop, ArtifactSet], shop_settings: Settings, encoder: TextEncoder, engine: Engine
) -> None:
    """Reading only the list's first k positions changes no answer, filtered or not."""
    described, artifacts = shop
    head = shop_engine(
        shop_settings.updated(serving={"candidates_served": 1}), artifacts, encoder, None
    )
    fan = described.fans("comedy")[0]
    for filters in (Filters(), Filters(categories=("cat-horror",))):
        whole = engine.recommend(fan, k=5, filters=filters)
        cut = head.recommend(fan, k=5, filters=filters)
        assert cut.ranking == whole.ranking == "learned", filters
        assert [i.id for i in cut.items] == [i.id for i in whole.items], filters
    assert cut.candidates == whole.candidates  # the filter read past the head: all of it
    unfiltered = head.recommend(fan, k=5)
    assert unfiltered.candidates == 5  # unfiltered: the first k positions are read, no more
    # excluding one of those k: the stages ranked only the head, so they rank it all again
    skip = Filters(exclude_ids=frozenset({unfiltered.items[0].id}))
    expected = [i.id for i in engine.recommend(fan, k=6).items][1:]
    assert [i.id for i in head.recommend(fan, k=5, filters=skip).items] == expected
    assert {described.genre_of[i.id] for i in cut.items} == {"horror"}


def test_nothing_a_shopper_interacted_with_comes_back(
    shop: tuple[Shop, ArtifactSet], engine: Engine
) -> None:
    described, _ = shop
    for user, history in list(described.history.items())[:20]:
        got = {i.id for i in engine.recommend(user, k=20).items}
        assert not got & history, f"{user} was recommended {sorted(got & history)}"


def test_a_fan_gets_their_genre_and_a_query_turns_it(
    shop: tuple[Shop, ArtifactSet], engine: Engine
) -> None:
    described, _ = shop
    fan = described.fans("comedy")[0]
    plain = [described.genre_of[i.id] for i in engine.recommend(fan, k=5).items]
    assert plain.count("comedy") >= 4, plain
    searched = engine.search("horror", user_id=fan, k=5)
    assert searched.ranking == "learned"
    genres = [described.genre_of[i.id] for i in searched.items]
    assert genres == ["horror"] * 5, genres


def test_a_query_naming_a_category_fuses_the_shoppers_order_within_it(
    shop: tuple[Shop, ArtifactSet], shop_settings: Settings, engine: Engine, encoder: TextEncoder
) -> None:
    described, artifacts = shop
    fan = described.fans("comedy")[0]
    linked = engine.search("westerns", user_id=fan, k=5)
    assert any("names the category 'western'" in n for n in linked.notes), linked.notes
    assert [described.genre_of[i.id] for i in linked.items] == ["western"] * 5
    # a query naming no category, or linking turned off: no link, no note
    plot = engine.search("a lighthouse keeper's diary", user_id=fan, k=5)
    assert not any("names the category" in n for n in plot.notes), plot.notes
    off = shop_engine(shop_settings.updated(serving={"w_link": 0.0}), artifacts, encoder, None)
    unlinked = off.search("westerns", user_id=fan, k=5)
    assert not any("names the category" in n for n in unlinked.notes), unlinked.notes


def test_a_context_product_moves_the_ranking(
    shop: tuple[Shop, ArtifactSet], engine: Engine
) -> None:
    described, _ = shop
    fan = described.fans("western")[0]
    context = next(p for p, g in described.genre_of.items() if g == "scifi")
    plain = [described.genre_of[i.id] for i in engine.recommend(fan, k=10).items]
    moved = [
        described.genre_of[i.id] for i in engine.recommend(fan, k=10, context_item=context).items
    ]
    assert moved.count("scifi") >= plain.count("scifi") + 3, (plain, moved)


def test_a_new_product_in_the_favourite_genre_reaches_the_top_10(
    shop: tuple[Shop, ArtifactSet],
    shop_settings: Settings,
    encoder: TextEncoder,
    store: GraphStore,
    in_graph: Engine,
) -> None:
    """Products without interactions get the fresh slots (every 10th position)."""
    described, artifacts = shop
    engine = in_graph
    fan = described.fans("horror")[1]
    engine.add_items(
        [
            {
                "id": "horror-new",
                "title": "The haunted vampire horror 99",
                "description": "Haunted 99, a horror movie: terror, fear and blood",
                "brand_id": "studio-horror",
                "category_ids": ["cat-horror"],
            }
        ]
    )
    answer = engine.recommend(fan, k=10)
    assert "horror-new" in [i.id for i in answer.items]
    off = shop_engine(
        shop_settings.updated(serving={"fresh_share": 0.0}), artifacts, encoder, store
    )
    off.add_items(
        [{"id": "horror-new", "title": "The haunted vampire horror 99"}], write_graph=False
    )
    assert "horror-new" not in [i.id for i in off.recommend(fan, k=10).items]


def test_a_new_shopper_of_a_new_product_gets_products_like_it(
    shop: tuple[Shop, ArtifactSet], in_graph: Engine
) -> None:
    """Its only product has no interactions: content orders its list, not popularity."""
    described, _ = shop
    engine = in_graph
    engine.add_items(
        [
            {
                "id": "western-new",
                "title": "The dusty western 99",
                "description": "Dusty 99, a western: cowboys, saloons and a sheriff",
                "brand_id": "studio-western",
                "category_ids": ["cat-western"],
            }
        ]
    )
    engine.record_events([view_event("rider", "western-new", 3_000_000)])
    answer = engine.recommend("rider", k=6)
    assert answer.ranking == "learned" and "western-new" not in [i.id for i in answer.items]
    genres = [described.genre_of[i.id] for i in answer.items if i.id in described.genre_of]
    assert genres.count("western") >= len(genres) - 1 >= 4, genres


def test_anonymous_sessions_draw_their_own_fresh_products(in_graph: Engine) -> None:
    """Six alike products added online tie in the cold path: each session draws its own."""
    engine = in_graph
    alike: list[ProductRow] = [
        {"id": f"alike-{n}", "title": "The haunted vampire horror 99"} for n in range(6)
    ]
    engine.add_items(alike)
    new = {item["id"] for item in alike}

    def fresh_of(session: str | None) -> list[str]:
        answer = engine.recommend(None, k=10, session_id=session)
        assert answer.ranking == "learned"
        return [i.id for i in answer.items if i.id in new]

    firsts = {tuple(fresh_of(f"visit-{n}")) for n in range(12)}
    assert all(len(f) == 1 for f in firsts)  # one fresh slot in ten
    assert len(firsts) > 1  # visitors are shown different new products
    assert fresh_of("visit-3") == fresh_of("visit-3")  # a visit keeps its draw
    assert fresh_of(None) == fresh_of(None)  # requests without a session share one


def test_events_recorded_online_are_excluded_without_a_graph_read(
    shop: tuple[Shop, ArtifactSet], in_graph: Engine
) -> None:
    described, _ = shop
    engine = in_graph
    fan = described.fans("scifi")[0]
    first = engine.recommend(fan, k=3).items[0].id
    engine.record_events([{"user_id": fan, "product_id": first, "kind": "view", "ts": 2_000_000}])
    assert first not in [i.id for i in engine.recommend(fan, k=20).items]


def test_without_a_ranker_the_default_weights_rank(
    shop: tuple[Shop, ArtifactSet], shop_settings: Settings, encoder: TextEncoder
) -> None:
    described, artifacts = shop
    engine = shop_engine(shop_settings.updated(serving={"ranker": False}), artifacts, encoder, None)
    answer = engine.recommend(described.fans("horror")[0], k=5)
    assert answer.ranking == "fused"
    assert len(answer.items) == 5


def test_a_shopper_nobody_knows_is_not_scored_as_a_user_added_by_embed(
    shop: tuple[Shop, ArtifactSet], shop_settings: Settings
) -> None:
    """`kgrec embed` may append users the ranker's tables lack.

    The unknown-shopper row stays past all of them.
    """
    _, artifacts = shop
    assert artifacts.path is not None
    ranking = PersonalRanking.load(
        artifacts.path,
        shop_settings.serving.fresh_share,
        fresh_temperature=shop_settings.serving.fresh_temperature,
    )
    assert ranking is not None
    users = torch.from_numpy(np.asarray(artifacts.user_graph))
    products = torch.from_numpy(np.asarray(artifacts.product_graph))
    text = torch.from_numpy(np.asarray(artifacts.product_text))
    none = np.zeros(0, np.int64)
    plain = ranking.served(ranking.bind(users, products, text), None, none, shopper_id="x")
    added = torch.cat([users, users[:1] * 10.0])  # one more user, as kgrec embed appends
    more = ranking.served(ranking.bind(added, products, text), None, none, shopper_id="x")
    np.testing.assert_array_equal(plain[0], more[0])


def test_new_shoppers_draw_their_own_order_of_the_fresh_products(
    shop: tuple[Shop, ArtifactSet], shop_settings: Settings
) -> None:
    """Shoppers the version lacks share one row; their ids draw the fresh order apart."""
    _, artifacts = shop
    assert artifacts.path is not None
    ranking = PersonalRanking.load(artifacts.path, 0.5, fresh_temperature=0.5)
    assert ranking is not None
    users = torch.from_numpy(np.asarray(artifacts.user_graph))
    products = torch.from_numpy(np.asarray(artifacts.product_graph))
    text = torch.from_numpy(np.asarray(artifacts.product_text))
    # eight products added online, alike (no interactions: fresh)
    staged = ranking.bind(
        users,
        torch.cat([products, products[:1].repeat(8, 1)]),
        torch.cat([text, text[:1].repeat(8, 1)]),
    )
    none = np.zeros(0, np.int64)

    def fresh_order(shopper: str) -> list[int]:
        served, scores = ranking.served(staged, None, none, shopper_id=shopper)
        return [int(row) for row in served[np.isnan(scores)]]

    orders = {fresh_order(f"new-{i}")[0] for i in range(12)}
    assert len(orders) > 1  # not every new shopper is shown the same fresh product first
    assert fresh_order("new-0") == fresh_order("new-0")
    # a known shopper draws by its row, as the evaluation does: the served order with
    # these fresh products is the evaluated one (whatever the id says)
    stored = ranking.stored
    for row in range(4):
        served, _ = ranking.served(staged, row, ranking.history(row), shopper_id="any")
        evaluated = staged.scores(torch.tensor([row]), stored.interactions)[0]
        finite = int(torch.isfinite(evaluated).sum())
        assert served.tolist() == evaluated.argsort(descending=True)[:finite].tolist()
        assert set(served.tolist()) & set(range(len(products), len(products) + 8))


def test_the_fallback_to_the_weights_leaves_the_history_out_too(
    shop: tuple[Shop, ArtifactSet], engine: Engine
) -> None:
    """A filter the learned list cannot fill falls back to the weights: still nothing bought.

    The engine has no graph to read purchases from; the history it holds in
    memory (the version's interactions) is what the fallback leaves out.
    """
    described, _ = shop
    fan = described.fans("horror")[0]
    horror = Filters(categories=("cat-horror",))
    answer = engine.recommend(fan, k=24, filters=horror)  # more than the genre has left
    assert answer.ranking == "fused"
    ids = [i.id for i in answer.items]
    assert ids and all(described.genre_of[i] == "horror" for i in ids)
    assert not set(ids) & described.history[fan]
    assert len(ids) == 24 - len({p for p in described.history[fan] if p.startswith("horror")})
