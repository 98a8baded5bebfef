"""What the write-throughput benchmarks (import_files.py, import_graph.py) share.

Their size options, the timing line they print, and the bare-driver peer that
writes the same rows with plain ``UNWIND $rows AS r MERGE`` statements.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from kgrec.graph import GraphStore

BARE_PRODUCT_NODES = "UNWIND $rows AS r MERGE (p:Product {id: r.id}) SET p += r.props"
"""The peer's product statement: the plain idiom the adapter is measured against (same
label and constraint as the adapter writes, so the MERGE is an index lookup for both)."""


def size_parser(description: str) -> argparse.ArgumentParser:
    """A parser with the catalogue size, write batch size and seed options."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--interactions", type=int, default=300_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    return parser


def timed(label: str, rows: int, fn: Callable[[], Any]) -> float:
    """Run ``fn``, print its rows/s under ``label`` and return them."""
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    print(f"{label:<46} {rows:>9,} rows {seconds:8.1f} s {rows / seconds:>10,.0f} rows/s")
    return rows / seconds


def bare(store: GraphStore, statement: str, rows: list[dict[str, Any]], batch: int) -> None:
    """The peer: ``statement`` over ``rows`` in batches of ``batch``, through the driver."""
    driver = store._driver  # the peer speaks to the driver directly on purpose
    for start in range(0, len(rows), batch):
        with driver.session(database=store.database) as session:
            session.run(statement, rows=rows[start : start + batch]).consume()
