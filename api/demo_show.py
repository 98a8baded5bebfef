"""The sections ``kgrec demo`` prints: answers of the running service as tables.

Each section calls the real HTTP API (through :func:`kgrec.api.demo_calls.serving`) and
prints what a person wants to read: the products, the score breakdown and the
reason, the time the call took. :func:`evaluation_summary` reads the last
``kgrec evaluate`` report from the data directory.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgrec.api.cli.tables import table
from kgrec.api.demo_data import NEWCOMER, DemoData
from kgrec.errors import KgrecError
from kgrec.gnn.significance import LEVEL
from kgrec.paths import DataDir
from kgrec.typing import USER

if TYPE_CHECKING:
    import httpx

Echo = Callable[[str], None]
TITLE_CHARS = 42
K = 10
SCORE_HEADERS = ("#", "product", "graph", "text", "popularity", "ranker", "total", "why")


@dataclass(frozen=True)
class Answer:
    """One ranked answer and the milliseconds it took."""

    url: str
    body: dict[str, Any]
    ms: float

    @property
    def items(self) -> list[dict[str, Any]]:
        """The ranked products."""
        items = self.body.get("items", [])
        return items if isinstance(items, list) else []

    def rank_of(self, product_id: str) -> int | None:
        """1-based rank of ``product_id`` in the answer, None when absent."""
        ids = [item.get("id") for item in self.items]
        return ids.index(product_id) + 1 if product_id in ids else None


def _call(
    client: httpx.Client, method: str, path: str, *, params: Any = None, body: Any = None
) -> tuple[dict[str, Any], float, str]:
    start = time.perf_counter()
    response = client.request(method, path, params=params, json=body)
    ms = (time.perf_counter() - start) * 1000
    if response.status_code >= 400:
        raise KgrecError(f"{method} {path} answered HTTP {response.status_code}: {response.text}")
    answer = response.json()
    return (answer if isinstance(answer, dict) else {}), ms, str(response.request.url)


def recommend(client: httpx.Client, **params: Any) -> Answer:
    """``GET /recommendations`` with ``params`` (and ``explain=true``)."""
    query = {"k": K, "explain": "true", **params}
    body, ms, url = _call(client, "GET", "/recommendations", params=query)
    return Answer(url.replace(str(client.base_url), ""), body, ms)


def _short(text: str, chars: int = TITLE_CHARS) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def path_summary(path: Sequence[dict[str, Any]]) -> str:
    """An explanation path in one line: ``User 1 -INTERACTED-> Star Wars (1977) -...``."""
    parts: list[str] = []
    for step in path:
        if "label" in step:  # a node
            name = step.get("name") or step.get("id")
            parts.append(_short(str(name), 30) if step.get("label") != USER else f"you ({name})")
        else:
            what = step.get("relation") or step.get("generator") or step.get("kind")
            parts.append(f"-{step.get('type', '')}{f' {what}' if what else ''}->")
    return " ".join(parts)


def why(item: dict[str, Any]) -> str:
    """The reason's sentence when the answer has one, else the explanation path."""
    reason = item.get("reason")
    if isinstance(reason, dict) and reason.get("sentence"):
        return str(reason["sentence"])
    path = item.get("explanation")
    return path_summary(path) if isinstance(path, list) and path else ""


def ranked_table(answer: Answer, mark: str | None = None) -> str:
    """Tabulate the answer's products with their score breakdown and reason, one row each.

    ``mark`` (a product id) gets a ``(new)`` after its title.
    """
    rows = []
    for rank, item in enumerate(answer.items, start=1):
        score = item.get("score", {})
        title = _short(str(item.get("title", item.get("id"))))
        if item.get("id") == mark:
            title += " (new)"
        rows.append(
            [
                rank,
                title,
                score.get("graph"),
                score.get("text"),
                score.get("popularity"),
                score.get("ranker"),
                score.get("total"),
                why(item),
            ]
        )
    return table(SCORE_HEADERS, rows)


LEGENDS = {
    "learned": "graph <shopper, product>, text <query, product>, ranker the learned score "
    "(empty at a fresh-product slot), total the rank fusion that orders the list",
    "fused": "total = graph + text + popularity, weighted by KGREC_SERVING__W_GRAPH, "
    "KGREC_SERVING__W_TEXT "
    "and KGREC_SERVING__W_POP",
}


def _heading(answer: Answer) -> str:
    b = answer.body
    ranking = str(b.get("ranking"))
    return (
        f"GET {answer.url}\n"
        f"ranking {ranking}, strategy {b.get('strategy')}, "
        f"{b.get('candidates')} candidates, {answer.ms:.0f} ms\n"
        f"columns: {LEGENDS.get(ranking, '')}"
    )


def _shown(answer: Answer, title: str, echo: Echo) -> Answer:
    """Echo ``title``, the answer's heading and its ranked table; return the answer."""
    echo(f"\n== {title}")
    echo(_heading(answer))
    echo(ranked_table(answer))
    return answer


def known_shopper(client: httpx.Client, data: DemoData, echo: Echo) -> Answer:
    """Top 10 for the dataset's known shopper, with the score breakdown and reasons."""
    title = f"Top {K} for shopper {data.shopper} (known: trained on their history)"
    return _shown(recommend(client, user_id=data.shopper), title, echo)


def searching_shopper(client: httpx.Client, data: DemoData, echo: Echo) -> Answer:
    """The known shopper's top 10 for a query naming a category, and the answer's notes."""
    title = f"Shopper {data.shopper} searching {data.category_query!r}"
    answer = recommend(client, user_id=data.shopper, query=data.category_query)
    _shown(answer, title, echo)
    for note in answer.body.get("notes") or []:
        echo(f"note: {note}")
    return answer


def new_shopper(client: httpx.Client, data: DemoData, echo: Echo) -> Answer:
    """Top 10 for a shopper the service has never seen, who typed a query."""
    title = f"A new shopper with only a query: {data.query!r}"
    return _shown(recommend(client, query=data.query), title, echo)


def declaring_shopper(client: httpx.Client, data: DemoData, echo: Echo) -> Answer:
    """``PUT /users/{id}`` a newcomer's attributes, then its top 10 (no history yet)."""
    said = ". ".join(f"{k}: {v}" for k, v in data.declared.items())
    echo(f"\n== A new shopper who declared {said} (PUT /users/{NEWCOMER})")
    body = {"attributes": dict(data.declared)}
    written, ms, _ = _call(client, "PUT", f"/users/{NEWCOMER}", body=body)
    peers = int(written.get("peers") or 0)
    alike = (
        f"served what the {peers} shoppers most alike in what they declared chose"
        if peers
        else "this version has no peer popularity to weigh it with"
    )
    echo(f"PUT /users/{NEWCOMER}: HTTP 200 in {ms:.0f} ms ({alike})")
    answer = recommend(client, user_id=NEWCOMER)
    echo(_heading(answer))
    echo(ranked_table(answer))
    return answer


@dataclass(frozen=True)
class Added:
    """What adding the demo product showed.

    The write's and the next answer's time, and the product's rank in that answer
    (None: not in the top 10).
    """

    write_ms: float
    answer: Answer
    rank: int | None


def add_product(client: httpx.Client, data: DemoData, echo: Echo) -> Added:
    """``POST /items`` the demo's product, then ask the new shopper's query again."""
    product = data.new_product
    echo(f"\n== A product added online: POST /items {product.title!r}")
    start = time.perf_counter()
    written, write_ms, _ = _call(client, "POST", "/items", body=product.body())
    answer = recommend(client, query=data.query)
    total_ms = (time.perf_counter() - start) * 1000
    echo(
        f"POST /items: HTTP 201 in {write_ms:.0f} ms "
        f"(added {', '.join(written.get('added', []))}; "
        f"{written.get('items_served', '?')} products served)"
    )
    echo(_heading(answer))
    echo(ranked_table(answer, mark=product.id))
    rank = answer.rank_of(product.id)
    if rank is None:
        echo(f"{product.id} is not in the top {K} of the next answer")
    else:
        echo(
            f"{product.title} is #{rank} in the very next answer, "
            f"{total_ms / 1000:.2f} s after the write was sent"
        )
    return Added(write_ms, answer, rank)


def evaluation_summary(data_dir: Path, echo: Echo) -> bool:
    """Print the last ``kgrec evaluate`` report's summary; False when there is none."""
    reports = DataDir(data_dir).reports
    md, js = reports / "report-kgrec.md", reports / "report-kgrec.json"
    echo("\n== Evaluation (the last `kgrec evaluate`)")
    if not md.is_file():
        echo(
            f"no report yet ({md}): `kgrec evaluate --seeds 1` trains and scores the GNN, "
            "the staged ranking and the baselines on warm, cold-item and cold-user splits "
            "(a few minutes per seed on 2 idle cores, several times that on busy ones); "
            "`kgrec demo --evaluate` runs it before the service starts"
        )
        return False
    try:
        report = json.loads(js.read_text(encoding="utf-8"))
        echo(f"{md} (`{report.get('command', 'kgrec evaluate')}`, seeds {report.get('seeds')})")
        echo(_ratio_table(report))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        text = md.read_text(encoding="utf-8", errors="replace").splitlines()
        echo(str(md))
        for line in text:
            if line.startswith("- ") and "Recall@20 =" in line:
                echo(line[2:])
    return True


def _ratio_table(report: dict[str, Any]) -> str:
    """split, Recall@20 of kgrec / the GNN / the best baseline, ratio, its interval, target.

    Then the share of the split's fresh products kgrec showed to any test shopper
    (``fresh_coverage@20``; empty in reports written before it, or where the
    split ranks no fresh product).
    """
    summary: dict[str, dict[str, dict[str, list[float]]]] = report["summary"]
    ratios: dict[str, dict[str, dict[str, Any]]] = report.get("ratios", {})
    rows = []
    for split, methods in summary.items():
        served = ratios.get("kgrec", {}).get(split) or ratios.get("gnn", {}).get(split) or {}
        best = served.get("best_baseline")

        def recall(
            method: str | None, methods: Any = methods, metric: str = "recall@20"
        ) -> float | None:
            stats = methods.get(method) if method else None
            value = stats.get(metric, [None])[0] if stats else None
            return None if value is None else float(value)

        met = served.get("met")
        low, high = served.get("low"), served.get("high")
        interval = None if low is None or high is None else f"{low:.2f}-{high:.2f}"
        rows.append(
            [
                split,
                recall("kgrec"),
                recall("gnn"),
                best,
                recall(best),
                served.get("ratio"),
                interval,
                None if met is None else ("met" if met else "NOT met"),
                recall("kgrec", metric="fresh_coverage@20"),
            ]
        )
    headers = (
        "split",
        "kgrec R@20",
        "gnn R@20",
        "best baseline",
        "its R@20",
        "ratio",
        f"{LEVEL:.0%} interval",
        "target",
        "fresh shown",
    )
    return table(headers, rows, digits=4)
