"""Following LATEST: a running service swaps to a newly promoted artifact version.

``kgrec train --since`` and ``kgrec artifacts promote|rollback`` replace
``<data_dir>/artifacts/LATEST`` atomically (:mod:`kgrec.gnn.versions`); the
:class:`ArtifactWatcher` of ``kgrec serve`` reads it every
``KGREC_SERVING__ARTIFACT_POLL_S`` seconds and, when it names another version, loads that
version and calls :meth:`kgrec.api.engine.Engine.swap`, which replaces one reference:
requests in flight finish on the version they started with, later ones get the
new one. A version that fails to load is logged and tried again at the next
change of LATEST; the service keeps serving the one it has.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from kgrec.api.engine import Engine
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.gnn.versions import VersionStore

log = logging.getLogger(__name__)


class ArtifactWatcher:
    """Swaps ``engine`` to the version LATEST names under ``root`` when it changes.

    Args:
        engine: the serving engine.
        root: ``<data_dir>/artifacts``.
        interval_s: seconds between two reads of LATEST.
    """

    def __init__(self, engine: Engine, root: Path, interval_s: float) -> None:
        self.engine = engine
        self.versions = VersionStore(root)
        self.interval_s = interval_s
        # the version served, not LATEST now: one promoted while the service started is swapped in
        self._seen: str | None = engine.version
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def check(self) -> str | None:
        """Swap when LATEST names a new version.

        That is one other than the one last seen there and the one served.

        Returns:
            The version swapped to (None: nothing to do, or it failed).
        """
        with self._lock:
            latest = self.versions.latest()
            if latest is None or latest == self._seen:
                return None
            self._seen = latest
            if latest == self.engine.version:
                return None
            try:
                artifacts = ArtifactSet.load(self.versions.root / latest)
                served = self.engine.swap(artifacts)
            except Exception as e:
                log.error(
                    "could not swap to artifact version %s (still serving %s): %s",
                    latest,
                    self.engine.version,
                    e,
                )
                return None
            log.info("now serving artifact version %s (LATEST changed)", served)
            return served

    def start(self) -> None:
        """Check every ``interval_s`` seconds in a daemon thread until :meth:`close`."""
        self._thread = threading.Thread(target=self._run, name="artifact-watcher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.check()
            except Exception:  # the watcher outlives any one failed swap
                log.exception("artifact watcher: unexpected error; still watching LATEST")

    def close(self) -> None:
        """Stop the thread (waits for a swap in progress to finish)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> ArtifactWatcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
