"""Serve after a restart what the graph holds and the artifact version lacks or holds stale.

Products and users written online (``POST /items``, ``POST /events``) are in the
graph the moment the write is accepted, but only in the serving overlay of the
process that took them. When the service starts again, :func:`restore_online`
reads the ids of every product and user in the graph (pages of ids, keyset on id),
keeps those the artifact version does not serve, and embeds them as the online
writes did: products with :meth:`kgrec.api.engine.Engine.add_items` (``mirror``:
text encoded, graph vector from the checkpoint's inductive embedder), users with
:meth:`kgrec.api.engine.Engine.refresh_users`. Products come first, so that the
neighbour-mean fallback (artifacts without a checkpoint) finds them. Products and
users the version holds but the ledger of online writes names as written since
the version's snapshot (:meth:`~kgrec.api.engine.Engine.stale_in_version`) are served again the same
way, as the graph holds them now.

:class:`Restorer` is what :func:`kgrec.api.wiring.default_services` runs: the restore
before the service answers its first request, or, when the graph does not answer
at start, a warning, the artifacts served alone, and the restore in a background
thread as soon as the graph answers (checked every ``graph_check_interval_s``,
at least every second).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from kgrec.api.engine import Engine
from kgrec.api.served_again import SERVE_BATCH, chunks
from kgrec.errors import GraphConnectionError, KgrecError
from kgrec.graph import GraphStore
from kgrec.typing import PRODUCT, USER

log = logging.getLogger(__name__)
RestorePart = Literal["lacking", "stale", "all"]
_WRITTEN: Final[dict[str, str]] = {
    "lacking": "added online",
    "stale": "of the version written online since its snapshot",
    "all": "written online",
}
_PROGRESS_EVERY_S: Final = 5.0
_MIN_RETRY_S: Final = 1.0


@dataclass(frozen=True)
class RestoreReport:
    """What one restore served: products, users, and how long it took."""

    products: int
    users: int
    seconds: float


def unserved_ids(engine: Engine, store: GraphStore, label: str) -> list[str]:
    """Ids of the graph's ``label`` nodes (Product or User) that ``engine`` does not serve."""
    missing: list[str] = []
    for page in store.iter_ids(label):
        missing += engine.unserved(label, page)
    return missing


def restore_online(
    engine: Engine,
    store: GraphStore,
    *,
    part: RestorePart = "all",
    batch_size: int = SERVE_BATCH,
    stop: threading.Event | None = None,
) -> RestoreReport:
    """Embed and serve what the graph holds and the engine lacks or holds stale.

    ``part``: ``lacking`` the products and users the version lacks, ``stale`` those
    it holds that were written online since its snapshot
    (:meth:`~kgrec.api.engine.Engine.stale_in_version`), ``all`` both. Logs a progress line at most
    every 5 s and a summary line. ``stop`` set ends it after the batch under way
    (what was restored stays served).

    Raises:
        ServiceUnavailableError: the graph stopped answering (what was restored stays).
        GraphConnectionError: the same, from a read.
    """
    start = time.perf_counter()
    products: list[str] = []
    users: list[str] = []
    if part in ("lacking", "all"):
        products = unserved_ids(engine, store, PRODUCT)
        users = unserved_ids(engine, store, USER)
        if products or users:
            log.info(
                "restoring %d products and %d users that the graph holds and artifact version "
                "%s lacks (added online since it was built)",
                len(products),
                len(users),
                engine.version,
            )
    if part in ("stale", "all"):
        stale = {label: engine.stale_in_version(label) or [] for label in (PRODUCT, USER)}
        if stale[PRODUCT] or stale[USER]:
            log.info(
                "restoring %d products and %d users of artifact version %s written online "
                "since its snapshot (as the graph holds them now)",
                len(stale[PRODUCT]),
                len(stale[USER]),
                engine.version,
            )
        products, users = products + stale[PRODUCT], users + stale[USER]
    last = start
    done = {PRODUCT: 0, USER: 0}
    for label, ids in ((PRODUCT, products), (USER, users)):
        for batch in chunks(ids, batch_size):
            if stop is not None and stop.is_set():
                break
            done[label] += len(engine.serve_again(label, batch))
            now = time.perf_counter()
            if now - last >= _PROGRESS_EVERY_S:
                log.info(
                    "restored %d/%d products, %d/%d users (%.0f s)",
                    done[PRODUCT],
                    len(products),
                    done[USER],
                    len(users),
                    now - start,
                )
                last = now
    report = RestoreReport(done[PRODUCT], done[USER], time.perf_counter() - start)
    log.info(
        "restored %d products and %d users %s in %.1f s; serving %d products",
        report.products,
        report.users,
        _WRITTEN[part],
        report.seconds,
        engine.size,
    )
    return report


class Restorer:
    """Runs :func:`restore_online` at start, or in the background once the graph answers.

    Args:
        engine: the engine just built.
        store: its graph.
        retry_s: seconds between reachability checks while the restore waits.
    """

    def __init__(self, engine: Engine, store: GraphStore, retry_s: float) -> None:
        self.engine = engine
        self.store = store
        self.retry_s = max(retry_s, _MIN_RETRY_S)
        self.report: RestoreReport | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def pending(self) -> bool:
        """True while a restore waits for the graph."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> RestoreReport | None:
        """Restore what the version lacks now; the rest in the background.

        The version's own rows written online since its snapshot (``stale``) are
        served stale until the background pass reaches them, so that a shop where
        many known shoppers sent events answers from the start. When the graph does
        not answer, warn and do both in the background once it does.

        Returns:
            The report of the first part, or None when the restore was left to the
            background thread (or failed, logged as an error).
        """
        try:
            self.report = restore_online(self.engine, self.store, part="lacking")
        except GraphConnectionError as e:
            log.warning(
                "the graph does not answer (%s): serving only what artifact version %s holds; "
                "products and users added online since it was built are served once the graph "
                "answers (checked every %.0f s)",
                e,
                self.engine.version,
                self.retry_s,
            )
            self._background(self._retry)
            return None
        except KgrecError as e:
            log.error("products and users added online could not be restored: %s", e)
            return None
        self._background(self._restore_stale)
        return self.report

    def _background(self, target: Callable[[], None]) -> None:
        self._thread = threading.Thread(target=target, name="kgrec-restore", daemon=True)
        self._thread.start()

    def _restore_stale(self) -> None:
        """The version's own rows written online since (errors logged: a restart serves them)."""
        try:
            restore_online(self.engine, self.store, part="stale", stop=self._stop)
        except GraphConnectionError as e:
            log.info("restore interrupted, the graph stopped answering (%s)", e)
        except KgrecError as e:
            log.error("products and users written online could not be restored: %s", e)

    def _retry(self) -> None:
        while not self._stop.wait(self.retry_s):
            if not self.engine.graph_up(fresh=True):
                continue
            try:
                self.report = restore_online(self.engine, self.store, stop=self._stop)
                return
            except GraphConnectionError as e:
                log.info("restore interrupted, the graph stopped answering (%s); retrying", e)
            except KgrecError as e:
                log.error("products and users added online could not be restored: %s", e)
                return

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop waiting for the graph (a restore under way finishes its batch first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
