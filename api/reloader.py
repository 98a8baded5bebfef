"""Following LATEST: a running service swaps to a newly promoted artifact version.

``kgrec train --since`` and ``kgrec artifacts promote|rollback`` replace
``<data_dir>/artifacts/LATEST`` atomically (:mod:`kgrec.gnn.versions`); the
:class:`ArtifactWatcher` of ``kgrec serve`` reads it every
``KGREC_SERVING__ARTIFACT_POLL_S`` seconds and, when it names another version, loads that
version and calls :meth:`kgrec.api.engine.Engine.swap`, which replaces one reference:
requests in flight finish on the version they started with, later ones get the
new one. A version that fails to load is logged and tried again at the next
change of LATEST; the service keeps serving the one it has.

The load and the install hold the data directory's forget lock
(:func:`kgrec.forget_epoch.forget_lock`), as a forget does from its graph delete
to its last rewritten file: a ``DELETE /users/{id}`` landing while a version is
loaded waits, then clears the new state too. Before, the version read from disk
before the forget rewrote it served the shopper again once installed.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from kgrec.api.engine import Engine
from kgrec.forget_epoch import forget_lock
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.gnn.versions import VersionStore

log = logging.getLogger(__name__)


class ArtifactWatcher:
    """Swaps ``engine`` to the version LATEST names under ``root`` when it changes.

    Args:
        engine: the serving engine.
        root: ``<data_dir>/artifacts``.
        interval_s: seconds between two reads of LATEST.
        data_dir: the data directory whose forget lock a swap holds while it loads
            and installs a version (None: ``root``'s parent).
    """

    def __init__(
        self, engine: Engine, root: Path, interval_s: float, data_dir: Path | None = None
    ) -> None:
        self.engine = engine
        self.data_dir = root.parent if data_dir is None else data_dir
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
                # a forget waits until the new version is served, then clears it too;
                # one that ran before the load rewrote the files the load reads
                with forget_lock(self.data_dir):
                    artifacts = ArtifactSet.load(self.versions.root / latest)
                    old = self.engine.install(artifacts)
                self.engine.carry_over(old)
                served = artifacts.manifest.version
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
