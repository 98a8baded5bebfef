"""The web explorer (/ui) in a real browser.

Headless Chromium (Debian's ``chromium``) driven by Playwright's Python package,
against the real app on uvicorn over the shipped sample graph and a small GNN
trained on it.

Skipped, saying what to install, when Playwright or Chromium is missing (``make
test`` installs Chromium when run as root). Screenshots of the main views are written
to ``$KGREC_TEST_UI_SCREENSHOTS`` when set (``KGREC_TEST_UI_SCREENSHOTS=docs`` refreshes the
ones in docs/), else to the test's temporary directory.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kgrec.api.app import create_app
from kgrec.api.cli.demo import load_sample, sample_dir
from kgrec.api.engine import Engine
from kgrec.api.wiring import Services, engine_options, gnn_embedder_factory
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.graph import GraphStore
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder
from tests.utils.api import API_KEY, link_sample_entities, live_server
from tests.utils.settings import make_settings

try:
    from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    pytest.skip(
        "Playwright's Python package is missing: install the dev extras "
        "(`pip install -e '.[dev]'`, or `make test`)",
        allow_module_level=True,
    )

CHROMIUM_ENV = "KGREC_TEST_CHROMIUM"
SCREENSHOTS_ENV = "KGREC_TEST_UI_SCREENSHOTS"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
WAIT_MS = 20_000  # a shared 2-core machine: the first ranking encodes the query


def _chromium() -> str | None:
    """The Chromium executable: ``$KGREC_TEST_CHROMIUM``, else ``chromium`` on the PATH."""
    return os.environ.get(CHROMIUM_ENV) or shutil.which("chromium")


CHROMIUM = _chromium()
if CHROMIUM is None:  # skip before the costly fixtures (graph, training) are built
    pytest.skip(
        "headless Chromium is missing: install Debian's package "
        "(`apt-get install -y chromium`, as root; `make test` does it), "
        f"or point {CHROMIUM_ENV} at a Chromium executable",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium, the system's executable (no `playwright install`)."""
    assert CHROMIUM is not None
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


def _sample_graph(store: GraphStore, settings: Settings) -> None:
    """The shipped sample plus two knowledge-graph entities on p001 (one shared with p002)."""
    store.delete_all()
    load_sample(store, sample_dir(), settings)
    link_sample_entities(store)


@contextlib.contextmanager
def _explorer(
    data_dir: Path,
    artifacts: ArtifactSet,
    encoder: TextEncoder,
    store: GraphStore,
    **overrides: object,
) -> Iterator[str]:
    settings = make_settings(data_dir, serving={"api_key": API_KEY}).updated(**overrides)

    @contextlib.contextmanager
    def services(s: Settings) -> Iterator[Services]:
        engine = Engine(
            engine_options(s), artifacts, encoder, store, gnn_embedder_factory(s, encoder)
        )
        yield Services(settings=s, engine=engine, store=store)

    with live_server(create_app(settings, services)) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def app_url(
    data_dir: Path,
    sample_artifacts: ArtifactSet,
    encoder: TextEncoder,
    _embedded_store: GraphStore,
    settings: Settings,
) -> Iterator[str]:
    """Base URL of the service (reads open, writes with API_KEY) over the sample graph."""
    _sample_graph(_embedded_store, settings)
    with _explorer(data_dir, sample_artifacts, encoder, _embedded_store) as url:
        yield url


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where the screenshots go: ``$KGREC_TEST_UI_SCREENSHOTS``, else the test's tmp dir."""
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


PageFactory = Callable[..., Page]


@pytest.fixture
def open_page(browser: Browser) -> Iterator[PageFactory]:
    """``open_page(url, viewport=DESKTOP)``: a page in a fresh context.

    After the test, it checks that no uncaught script error and no
    Content-Security-Policy violation happened.
    """
    contexts = []
    problems: list[str] = []

    def open_(url: str, viewport: ViewportSize | None = None) -> Page:
        context = browser.new_context(viewport=viewport or DESKTOP)
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))

        def console(message: Any) -> None:
            if message.type == "error" and "Content Security Policy" in message.text:
                problems.append(f"CSP: {message.text}")

        page.on("console", console)
        page.goto(f"{url}/ui/")
        expect(page.locator("#summary")).to_be_visible()  # the first ranking is shown
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not problems, problems


def _rank(page: Page, **fields: str | bool) -> None:
    """Fill the search form (ids of the inputs, '-' for '_'), press Rank, wait for the answer."""
    before = page.evaluate("() => window.kgrecExplorer.state.rankings")
    for name, value in fields.items():
        field = page.locator(f"#{name.replace('_', '-')}")
        if isinstance(value, bool):
            field.set_checked(value)
        else:
            field.fill(value)
    page.locator("#rank").click()
    page.wait_for_function("(n) => window.kgrecExplorer.state.rankings > n", arg=before)


def _card_ids(page: Page) -> list[str]:
    ids: list[str] = page.locator(".card[data-id]").evaluate_all(
        "cards => cards.map(c => c.dataset.id)"
    )
    return ids


def _graph_nodes(page: Page) -> dict[str, dict[str, Any]]:
    nodes: list[dict[str, Any]] = page.evaluate("() => window.cy.nodes().map(n => n.data())")
    return {n["id"]: n for n in nodes}


def _click_node(page: Page, node_id: str) -> None:
    """A real mouse click on the node's position in the canvas."""
    x, y = page.evaluate(
        """(id) => {
            const node = window.cy.getElementById(id);
            const box = window.cy.container().getBoundingClientRect();
            const at = node.renderedPosition();
            return [box.left + at.x, box.top + at.y];
        }""",
        node_id,
    )
    page.mouse.click(x, y)


def _centre_is(page: Page, node_id: str) -> None:
    page.wait_for_function(
        "(id) => window.cy && window.cy.nodes(\"[role = 'centre']\").id() === id",
        arg=node_id,
    )


# Tests ------------------------------------------------------------------------------------
def test_a_search_shows_the_ranking_as_cards_with_score_breakdown_and_reasons(
    app_url: str, open_page: PageFactory, shots: Path
) -> None:
    page = open_page(app_url)
    _rank(page, user="u03", query="trail shoe", explain=True)
    params: dict[str, str | int] = {
        "user_id": "u03",
        "query": "trail shoe",
        "k": 10,
        "explain": "true",
    }
    api = httpx.get(f"{app_url}/recommendations", params=params).json()

    # the cards are the API's ranking, in its order, with its breakdown
    assert _card_ids(page) == [i["id"] for i in api["items"]]
    expect(page.locator('#summary [data-field="ranking"]')).to_have_text(api["ranking"])
    expect(page.locator('#summary [data-field="strategy"]')).to_have_text("user")
    for item in api["items"]:
        card = page.locator(f'.card[data-id="{item["id"]}"]')
        expect(card.locator(".title")).to_have_text(item["title"])
        for part in ("graph", "text", "popularity", "total"):
            expect(card.locator(f'[data-score="{part}"]')).to_have_text(
                f"{item['score'][part]:.3f}"
            )
        if item["score"].get("ranker") is not None:
            expect(card.locator('[data-score="ranker"]')).to_have_text(
                f"{item['score']['ranker']:.3f}"
            )
    # reasons: each card tells the API's reason sentence
    assert all(i["reason"] for i in api["items"]), "explain=true: every result has a reason"
    for item in api["items"]:
        reason = page.locator(f'.card[data-id="{item["id"]}"] .reason').inner_text()
        assert reason == item["reason"]["sentence"], (reason, item["reason"])
    page.screenshot(path=shots / "ui-ranking.png")


def test_a_product_opens_its_neighbourhood_graph_and_the_graph_clicks_through(
    app_url: str, open_page: PageFactory, shots: Path
) -> None:
    page = open_page(app_url)
    _rank(page, query="trail shoe", k="17")
    page.locator('.card[data-id="p001"] .title').click()
    _centre_is(page, "Product:p001")
    expect(page.locator("#graph-title")).to_have_text("Neighbourhood of Ridge Runner trail shoe")
    api = httpx.get(f"{app_url}/items/p001/neighbourhood", params={"similar": 8}).json()
    nodes = _graph_nodes(page)
    assert set(nodes) == {n["id"] for n in api["nodes"]}
    edges = page.evaluate("() => window.cy.edges().length")
    assert edges == len(api["edges"]) and edges > len(nodes) - 1
    for expected in ("Brand:stride", "Category:trail-shoes", "Category:apparel", "Entity:m.0abc"):
        assert expected in nodes, sorted(nodes)
    assert sum(n["role"] == "similar" for n in nodes.values()) == 8
    page.screenshot(path=shots / "ui-graph.png")

    # click a similar product: the graph moves there
    similar = next(n for n in nodes.values() if n["role"] == "similar")
    _click_node(page, similar["id"])
    _centre_is(page, similar["id"])
    expect(page.locator("#graph-title")).to_have_text(f"Neighbourhood of {similar['name']}")

    # click its brand: the ranking is filtered by that brand
    brand = next(n for n in _graph_nodes(page).values() if n["label"] == "Brand")
    _click_node(page, brand["id"])
    expect(page.locator("#brand")).to_have_value(brand["key"])
    wanted = httpx.get(
        f"{app_url}/recommendations", params={"query": "trail shoe", "k": 17, "brand": brand["key"]}
    ).json()
    expect(page.locator(".card[data-id]")).to_have_count(len(wanted["items"]))
    assert _card_ids(page) == [i["id"] for i in wanted["items"]]


def test_api_errors_show_as_readable_messages(app_url: str, open_page: PageFactory) -> None:
    page = open_page(app_url)
    message = page.locator("#message")
    _rank(page, min_price="50", max_price="10")
    expect(message).to_be_visible()
    expect(message).to_have_text(
        "422 Invalid input: min_price: min_price (50) must not exceed max_price (10)"
    )
    _rank(page, min_price="", max_price="", category="no-such-category")
    expect(message).to_contain_text("404 Not found:")
    expect(message).to_contain_text("no-such-category")
    assert "{" not in message.inner_text()  # words, not a JSON dump
    _rank(page, category="")
    expect(message).to_be_hidden()  # a good answer clears it

    page.locator("#add-panel summary").click()
    page.locator("#new-id").fill("x")
    page.locator("#new-title").fill("x")
    page.locator("#add").click()
    expect(message).to_have_text("Type the API key (top right) to add products: writes need it.")


def test_a_product_added_with_the_key_appears_in_the_ranking(
    app_url: str, open_page: PageFactory
) -> None:
    page = open_page(app_url)
    _rank(page, query="glacier hiking boot")
    assert "p-ui-1" not in _card_ids(page)
    page.locator("#add-panel summary").click()
    page.locator("#new-id").fill("p-ui-1")
    page.locator("#new-title").fill("Glacier hiking boot")
    page.locator("#new-description").fill("Insulated waterproof boot for glacier hikes")
    page.locator("#new-price").fill("149.5")
    page.locator("#new-brand").fill("northpeak")
    page.locator("#new-category").fill("trail-shoes")
    message = page.locator("#message")

    page.locator("#api-key").fill("wrong-key")
    page.locator("#add").click()
    expect(message).to_have_text("401 Not authorised: X-API-Key: the API key is wrong")

    page.locator("#api-key").fill(API_KEY)
    page.locator("#add").click()
    expect(message).to_contain_text("Added p-ui-1")
    expect(message).to_contain_text(re.compile(r"It ranks #\d+"))
    card = page.locator('.card[data-id="p-ui-1"]')
    expect(card).to_have_class(re.compile(r"\bnew\b"))
    expect(card.locator(".title")).to_have_text("Glacier hiking boot")
    expect(card.locator(".price")).to_have_text("149.50")
    # the key stays in the page's memory only
    stored = page.evaluate("() => [localStorage.length, sessionStorage.length, document.cookie]")
    assert stored == [0, 0, ""]


def test_a_shopper_declared_with_the_key_is_ranked_as_itself(
    app_url: str, open_page: PageFactory, _embedded_store: GraphStore
) -> None:
    page = open_page(app_url)
    message = page.locator("#message")
    page.locator("#shopper-panel summary").click()
    page.locator("#shopper-id").fill("ui-shopper")
    page.locator("#shopper-attributes").fill("country: DE")
    page.locator("#declare").click()
    no_key = "Type the API key (top right) to declare shoppers: writes need it."
    expect(message).to_have_text(no_key)
    page.locator("#api-key").fill(API_KEY)
    page.locator("#shopper-attributes").fill("country: DE\nsegment audiophile")
    page.locator("#declare").click()
    expect(message).to_have_text("Attributes, line 2: write it as name: value")
    typed = "country: DE\nsegment: audiophile\nage: 31\nzip_code: 02138\nrating: 4.5\n"
    typed += "card: 12345678901234567890"
    page.locator("#shopper-attributes").fill(typed)
    page.locator("#declare").click()
    expect(message).to_contain_text("Declared shopper ui-shopper (")
    held = _embedded_store.nodes_by_id("User", ["ui-shopper"])["ui-shopper"]
    # numbers stay numbers, a zip code with its leading zero stays text
    assert held == {
        "id": "ui-shopper",
        "country": "DE",
        "segment": "audiophile",
        "age": 31,
        "zip_code": "02138",
        "rating": 4.5,
        "card": "12345678901234567890",
    }
    expect(page.locator("#user")).to_have_value("ui-shopper")  # the ranking is now theirs
    expect(page.locator(".card[data-id]").first).to_be_visible()
    page.locator("#declare").click()
    expect(message).to_contain_text("Updated shopper ui-shopper (")


def test_the_page_works_at_phone_width(app_url: str, open_page: PageFactory, shots: Path) -> None:
    page = open_page(app_url, PHONE)
    _rank(page, user="u03", query="trail shoe")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways: {width} px wide"
    controls = page.locator(".controls").bounding_box()
    first = page.locator(".card").first.bounding_box()
    assert controls is not None and first is not None
    assert first["y"] > controls["y"] + controls["height"] - 1  # one column: results below
    assert first["width"] <= PHONE["width"]
    page.evaluate("() => document.getElementById('summary').scrollIntoView()")
    page.screenshot(path=shots / "ui-phone.png")
    page.locator(".card .title").first.click()
    page.wait_for_function("() => window.cy && window.cy.nodes().length > 1")
    graph = page.locator("#graph-panel").bounding_box()
    assert graph is not None and graph["width"] <= PHONE["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]


def test_reads_send_the_typed_key_when_the_service_requires_it(
    data_dir: Path,
    sample_artifacts: ArtifactSet,
    encoder: TextEncoder,
    _embedded_store: GraphStore,
    browser: Browser,
) -> None:
    with _explorer(
        data_dir,
        sample_artifacts,
        encoder,
        _embedded_store,
        serving={"api_read_requires_key": True},
    ) as url:
        context = browser.new_context(viewport=DESKTOP)
        context.set_default_timeout(WAIT_MS)
        try:
            page = context.new_page()
            page.goto(f"{url}/ui/")
            message = page.locator("#message")
            expect(message).to_contain_text("401 Not authorised:")
            expect(message).to_contain_text("type the API key at the top of the page")
            page.locator("#api-key").fill(API_KEY)
            _rank(page, query="espresso")
            expect(message).to_be_hidden()
            assert len(_card_ids(page)) == 10
        finally:
            context.close()
