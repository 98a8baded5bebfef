"""`kgrec demo`: its real steps on a slice of MovieLens-100K, run twice as a user would.

The slice (``--limit-users 3``: users 1..3, the films they rated and those films'
knowledge graph) goes through the same import, training (a small GNN), embedding
and service as the whole dataset. The second run must reuse the graph and the
model and be faster. Skipped, with the reason, when MovieLens-100K is not fetched.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from kgrec.api.cli.tables import table
from kgrec.api.demo_data import MOVIELENS, shipped_sample, write_slice
from kgrec.api.demo_show import evaluation_summary
from kgrec.api.demo_state import DemoState
from kgrec.loaders import PublicDataset

REPO = Path(__file__).resolve().parents[3]
DATASETS = Path(os.environ.get("KGREC_LOADERS__DATASET_DIR") or REPO / ".kgrec" / "datasets")
MOVIES = DATASETS / MOVIELENS
USERS = 3
SCORE_HEADER = re.compile(r"^\s*#\s+product\s+graph\s+text\s+popularity\s+ranker\s+total\s+why$")
ROW = re.compile(r"^\s*(\d+)  \S")

needs_movielens = pytest.mark.skipif(
    not PublicDataset.named(MOVIELENS).present(DATASETS),
    reason=f"MovieLens-100K is not fetched into {DATASETS} "
    "(`make setup` or `kgrec dataset fetch ml-100k`)",
)


@dataclass(frozen=True)
class Run:
    """One `kgrec demo` run: its output (stdout and stderr) and wall seconds."""

    out: str
    seconds: float


def kgrec_demo(data_dir: Path, *args: str) -> Run:
    """`kgrec demo ARGS` in a subprocess on ``data_dir`` with a small GNN."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KGREC_")}
    env |= {
        "KGREC_DATA_DIR": str(data_dir),
        "KGREC_LOADERS__DATASET_DIR": str(DATASETS),
        "KGREC_GRAPH__EMBEDDED_HEAP_MB": "512",
        "KGREC_GNN__EPOCHS": "2",
        "KGREC_GNN__HIDDEN_DIM": "16",
        "COLUMNS": "200",
    }
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", "from kgrec.api.cli import main; main()", "demo", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    seconds = time.perf_counter() - start
    out = done.stdout + done.stderr.replace("\r", "\n")
    assert done.returncode == 0, out[-4000:]
    return Run(out, seconds)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Run, Path]:
    """The demo run twice on one fresh data directory."""
    data_dir = tmp_path_factory.mktemp("demo")
    first = kgrec_demo(data_dir, "--limit-users", str(USERS))
    second = kgrec_demo(data_dir, "--limit-users", str(USERS))
    return first, second, data_dir


def section(out: str, title: str) -> list[str]:
    """The non-blank lines of the section whose heading starts ``== title``, up to the next."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"== {title}"))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("== ")), len(lines))
    return [line for line in lines[start + 1 : end] if line.strip()]


def ranks(lines: list[str]) -> list[int]:
    """The rank column of the ranked table in ``lines``."""
    header = next(i for i, line in enumerate(lines) if SCORE_HEADER.match(line))
    return [int(m.group(1)) for line in lines[header + 2 :] if (m := ROW.match(line))]


@pytest.mark.slow
@needs_movielens
def test_first_run_imports_trains_and_shows_every_section(runs: tuple[Run, Run, Path]) -> None:
    out = runs[0].out
    assert "importing a slice of MovieLens-100K: users 1..3" in out
    assert "== kgrec train" in out and "== kgrec embed" in out
    holds = section(out, "What the graph holds")
    assert re.match(r"^label\s+nodes$", holds[1]) and set(holds[2]) == {"-", " "}
    assert {"Entity", "Product", "User", "Category"} <= {line.split()[0] for line in holds[3:]}
    assert int(next(line.split()[1] for line in holds if line.startswith("User "))) == USERS
    shopper = section(out, "Top 10 for shopper 1")
    assert ranks(shopper) == list(range(1, 11))
    assert re.search(r"strategy user, \d+ candidates, \d+ ms", "\n".join(shopper))
    searching = section(out, "Shopper 1 searching 'westerns'")
    assert ranks(searching) == list(range(1, 11))
    # three shoppers are too few to train a ranker: the fused weights answer, unlinked
    assert "ranking fused" in searching[1] and not any(s.startswith("note:") for s in searching)
    query = section(out, "A new shopper with only a query")
    assert ranks(query) == list(range(1, 11)) and "strategy query" in "\n".join(query)
    declared = section(out, "A new shopper who declared age: 24. gender: F. occupation: student")
    assert re.match(r"PUT /users/demo-newcomer: HTTP 200 in \d+ ms \(", declared[0]), declared
    assert ranks(declared) == list(range(1, 11))
    added = "\n".join(section(out, "A product added online"))
    assert re.search(r"POST /items: HTTP 201 in \d+ ms \(added demo-new-film", added)
    assert "Fossil Island (2025) (new)" in added
    assert re.search(r"Fossil Island \(2025\) is #\d+ in the very next answer", added), added
    assert "no report yet" in out and "kgrec evaluate --seeds 1" in out
    timings = section(out, "Timings")
    for step in ("graph + import", "explore", "train", "embed", "serve", "total"):
        assert any(re.match(rf"^{re.escape(step)}\s+\d+\.\d$", line) for line in timings), step
    assert re.search(r"kgrec serve`, then open http://127\.0\.0\.1:\d+/ui/", out)


@pytest.mark.slow
@needs_movielens
def test_second_run_reuses_the_graph_and_the_model(runs: tuple[Run, Run, Path]) -> None:
    first, second, data_dir = runs
    out = second.out
    assert "graph: reused, it holds ml-100k-users-3 unchanged" in out
    assert "train + embed: reused the checkpoint and artifact version" in out
    assert "importing" not in out and "== kgrec train" not in out
    timings = section(out, "Timings")
    assert any(re.match(r"^graph \+ import\s+\d+\.\d\s+reused$", line) for line in timings)
    assert any(re.match(r"^train \+ embed\s+\d+\.\d\s+reused$", line) for line in timings)
    assert ranks(section(out, "Top 10 for shopper 1")) == list(range(1, 11))
    assert re.search(r"Fossil Island \(2025\) is #\d+ in the very next answer", out)
    assert second.seconds < first.seconds, (first.seconds, second.seconds)
    state = DemoState.load(data_dir)
    assert state is not None and state.snapshot_version is not None


def test_a_changed_graph_is_imported_again() -> None:
    """The state recorded for one dataset does not match another's fingerprint or counts."""
    state = DemoState("ml-100k-users-3", "abc", {"Product": 3}, {"INTERACTED": 5})
    assert state.holds("ml-100k-users-3", "abc", {"Product": 3}, {"INTERACTED": 5})
    assert not state.holds("ml-100k-users-3", "abc", {"Product": 4}, {"INTERACTED": 5})
    assert not state.holds("ml-100k", "abc", {"Product": 3}, {"INTERACTED": 5})
    assert state.owns({"Product": 3}, {"INTERACTED": 5})
    assert not DemoState().owns({}, {})


@needs_movielens
def test_the_slice_keeps_users_their_films_and_those_films_triples(tmp_path: Path) -> None:
    out = write_slice(MOVIES, tmp_path / "slice", 2)
    read = {s: (out / f"ml-100k.{s}").read_text().splitlines() for s in ("user", "inter", "item")}
    assert [r.split("\t")[0] for r in read["user"][1:]] == ["1", "2"]
    rated = {r.split("\t")[1] for r in read["inter"][1:]}
    assert {r.split("\t")[0] for r in read["inter"][1:]} == {"1", "2"}
    assert {r.split("\t")[0] for r in read["item"][1:]} == rated
    links = [r.split("\t") for r in (out / "ml-100k.link").read_text().splitlines()[1:]]
    assert links and {item for item, _ in links} <= rated
    entities = {entity for _, entity in links}
    for row in (out / "ml-100k.kg").read_text().splitlines()[1:]:
        head, _, tail = row.split("\t")
        assert head in entities or tail in entities
    assert read["item"][0] == (MOVIES / "ml-100k.item").read_text().splitlines()[0]


def test_tables_align_columns_and_right_align_numbers() -> None:
    text = table(("name", "n", "why"), [["a", 1, "long text here"], ["bbb", 10.5, None]], 1)
    assert text.splitlines() == [
        "name     n  why",
        "----  ----  --------------",
        "a        1  long text here",
        "bbb   10.5",
    ]


def test_the_sample_fingerprint_changes_with_its_files(tmp_path: Path) -> None:
    sample = shipped_sample()
    assert sample.fingerprint() == shipped_sample().fingerprint()
    copy = tmp_path / "products.csv"
    copy.write_bytes(sample.files[2].read_bytes() + b"p999,New thing,,1.0,EUR,True,,\n")
    changed = type(sample)(**{**sample.__dict__, "files": (*sample.files[:2], copy)})
    assert changed.fingerprint() != sample.fingerprint()


def test_the_evaluation_summary_reads_the_last_report(tmp_path: Path) -> None:
    from kgrec.gnn.evaluation import EvaluationResult
    from kgrec.gnn.report import EvaluationReport

    lines: list[str] = []
    assert not evaluation_summary(tmp_path, lines.append)
    assert "no report yet" in lines[-1] and "kgrec evaluate --seeds 1" in lines[-1]
    metrics = {"recall@10": 0.1, "recall@20": 0.2, "ndcg@10": 0.1, "ndcg@20": 0.15}
    runs = {
        "warm": {
            "kgrec": [metrics],
            "gnn": [{**metrics, "recall@20": 0.18}],
            "popularity": [{**metrics, "recall@20": 0.1}],
        }
    }
    report = EvaluationReport(EvaluationResult(runs=runs, seeds=[0]), command="kgrec evaluate")
    reports = tmp_path / "reports"
    for path in report.write(reports / "run")[:2]:
        (reports / f"{path.stem}-kgrec{path.suffix}").write_bytes(path.read_bytes())
    assert json.loads((reports / "report-kgrec.json").read_text())["summary"]
    lines.clear()
    assert evaluation_summary(tmp_path, lines.append)
    text = "\n".join(lines)
    assert re.search(r"^split\s+kgrec R@20\s+gnn R@20\s+best baseline", text, re.MULTILINE)
    assert re.search(
        r"^warm\s+0\.2000\s+0\.1800\s+popularity\s+0\.1000\s+2\.0000\s+met\s*$", text, re.M
    )  # a report without exposure figures leaves "fresh shown" empty
    # with each test user's figures the report carries the ratio's interval, and the demo shows it
    # and the share of the fresh products kgrec showed
    runs["warm"]["kgrec"] = [{**metrics, "fresh_coverage@20": 0.25}]
    result = EvaluationResult(runs=runs, seeds=[0])
    result.per_user = {
        "warm": {
            "kgrec": {0: torch.tensor([0.4, 0.0, 0.2, float("nan")])},
            "popularity": {0: torch.tensor([0.2, 0.0, 0.1, float("nan")])},
        }
    }
    for path in EvaluationReport(result, command="kgrec evaluate").write(reports / "run2")[:2]:
        (reports / f"{path.stem}-kgrec{path.suffix}").write_bytes(path.read_bytes())
    lines.clear()
    assert evaluation_summary(tmp_path, lines.append)
    text = "\n".join(lines)
    assert re.search(r"^warm\s.*\s2\.0000\s+2\.00-2\.00\s+met\s+0\.2500$", text, re.M)
    assert re.search(r"\s+target\s+fresh shown$", text, re.M)


@pytest.mark.slow
def test_the_demo_refuses_a_graph_holding_other_data(tmp_path: Path) -> None:
    products = tmp_path / "products.csv"
    products.write_text("id,title\nmine-1,Something of mine\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KGREC_")}
    env |= {"KGREC_DATA_DIR": str(tmp_path / "data"), "KGREC_GRAPH__EMBEDDED_HEAP_MB": "512"}

    def kgrec(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", "from kgrec.api.cli import main; main()", *args]
        return subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=300, check=False
        )

    assert kgrec("import", "--products", str(products), "--no-progress").returncode == 0
    refused = kgrec("demo", "--sample")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "holds 1 node the demo did not import" in refused.stderr
    assert "--fresh" in refused.stderr
    shown = kgrec("cypher", "MATCH (p:Product) RETURN p.id AS id")
    assert shown.stdout.split() == ["id", "mine-1"]


def test_the_shipped_sample_is_found_from_any_directory(tmp_path: Path) -> None:
    # the console script's sys.path holds no repository root (the package is kgrec.loaders)
    code = "from kgrec.api.demo_data import shipped_sample; print(shipped_sample().files[0])"
    done = subprocess.run(
        [sys.executable, "-I", "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert Path(done.stdout.strip()).is_file()
