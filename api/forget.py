"""Forgetting a shopper: what ``DELETE /users/{id}`` and ``kgrec users delete ID`` run.

:func:`forget_user` removes a shopper from everything kgrec stores about them:

1. the graph: the User node and every relationship of it (their interactions), in
   one write transaction (:meth:`kgrec.graph.GraphStore.delete_user`); first, so that a
   graph that does not answer stops it before anything else changed;
2. the serving state of the running service, when there is one
   (:meth:`kgrec.api.engine.Engine.forget_user`: their vector, purchases and online history);
3. the event-id ledger: the ids of their events (:meth:`kgrec.api.event_ids.EventIds.forget_user`),
   and the ledger of online writes: their id
   (:meth:`kgrec.api.written_online.WrittenOnline.forget_user`);
4. the text cache: the vector of their declared attributes' text, when they had any
   (:meth:`kgrec.text_encoders.EmbeddingCache.delete`);
5. the experiment log: their impressions and feedback events
   (:meth:`kgrec.api.experiments.log.EventLog.forget_user`);
6. the files under the data directory: every artifact version and snapshot that holds
   them, rewritten without them (:mod:`kgrec.gnn.forget`), and the rejects files of imports
   (:func:`kgrec.loaders.rejects.forget_in_rejects`).

kgrec queues no events, and stores no experiment assignment (an arm is a hash of
the experiment and the id, recomputed per request; the log's impressions are the
only record of it, removed in step 5). Each step finds what is left, so a
delete that failed half-way is finished by sending it again. Forgets of one data
directory run one at a time (a file lock), in any process.

The log names the shopper by :func:`subject`, a salted hash of the id, never by the
id: the salt is ``KGREC_FORGET_LOG_SALT``, or a random one generated on first use
and kept in ``<data_dir>/privacy/salt`` (mode 0600).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from pydantic import SecretStr

from kgrec.api.engine import Engine
from kgrec.api.event_ids import EventIds
from kgrec.api.experiments.log import EventLog
from kgrec.api.written_online import WrittenOnline
from kgrec.errors import KgrecError, NotFoundError
from kgrec.forget_epoch import count_forget, forget_lock, privacy_dir
from kgrec.gnn.forget import forget_in_artifacts, forget_in_snapshots
from kgrec.gnn.snapshot import USER, node_text
from kgrec.graph import GraphStore
from kgrec.graph.records import ForgottenUser
from kgrec.loaders.rejects import forget_in_rejects
from kgrec.paths import DataDir
from kgrec.text_encoders import EmbeddingCache
from kgrec.text_encoders.cache import text_key

log = logging.getLogger(__name__)
SALT_FILE: Final = "salt"
_SECRET_MODE: Final = 0o600


def log_salt(data_dir: Path, configured: SecretStr | None) -> bytes:
    """The salt of :func:`subject`.

    ``configured`` (``KGREC_FORGET_LOG_SALT``), else the data directory's own,
    generated on first use and kept in ``<data_dir>/privacy/salt`` (mode 0600).
    """
    if configured is not None:
        return configured.get_secret_value().encode()
    path = privacy_dir(data_dir) / SALT_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _SECRET_MODE)
    except FileExistsError:
        pass  # made before, maybe by another process a moment ago
    else:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secrets.token_hex(32))
    path.chmod(_SECRET_MODE)
    salt = path.read_text(encoding="utf-8").strip()
    if not salt:
        raise KgrecError(
            f"the salt file {path} is empty; remove it (a new salt is generated) or set "
            "KGREC_FORGET_LOG_SALT"
        )
    return salt.encode()


def subject(user_id: str, *, data_dir: Path, configured_salt: SecretStr | None) -> str:
    """How the log names a forgotten shopper: 16 hex digits of a keyed hash.

    HMAC-SHA256 of the id under :func:`log_salt` (of ``data_dir`` and
    ``configured_salt``): the same id gives the same name in one data directory; the
    name does not give the id back without the salt.
    """
    salt = log_salt(data_dir, configured_salt)
    digest = hmac.new(salt, user_id.encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()[:16]


@dataclass
class ForgetReport:
    """What one forget removed (paths relative to the data directory)."""

    subject: str
    graph_node: bool = False
    relationships: int = 0
    serving_state: bool = False
    event_ids: int = 0
    online_ledger: int = 0
    text_cache_entries: int = 0
    experiment_log_lines: int = 0
    files_rewritten: list[str] = field(default_factory=list)
    files_deleted: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        """True when anything held the shopper."""
        return (
            self.graph_node
            or self.serving_state
            or self.event_ids > 0
            or self.online_ledger > 0
            or self.experiment_log_lines > 0
            or bool(self.files_rewritten)
            or bool(self.files_deleted)
        )


def _relative(paths: list[Path], data_dir: Path) -> list[str]:
    root = data_dir.resolve()
    out = []
    for p in paths:
        resolved = p.resolve()
        out.append(str(resolved.relative_to(root)) if resolved.is_relative_to(root) else str(p))
    return out


def forget_user(
    user_id: str,
    *,
    data_dir: Path,
    configured_salt: SecretStr | None,
    store: GraphStore,
    engine: Engine | None = None,
    arm_engines: Sequence[Engine] = (),
    event_ids: EventIds | None = None,
) -> ForgetReport:
    """Remove ``user_id`` from everything kgrec stores.

    That is the graph, the serving state, the event-id ledger, the text cache, the
    experiment log and every file under the data directory (see the module
    docstring).

    Args:
        user_id: the shopper's id.
        data_dir: the data directory.
        configured_salt: ``KGREC_FORGET_LOG_SALT`` (None: the data directory's own).
        store: the graph.
        engine: the running service's engine (None: no service in this process).
        arm_engines: its engines pinned to experiment arms' artifact versions.
        event_ids: the service's event-id ledger (None: the data directory's is opened).

    Returns:
        What was removed.

    Raises:
        NotFoundError: nothing kgrec stores holds the id (never seen, or forgotten already).
        GraphConnectionError: the graph does not answer (nothing was changed).
        ArtifactError, ModelError: a file could not be rewritten (named); everything
            else was done, and sending the delete again finishes it.
    """
    paths = DataDir(data_dir)
    report = ForgetReport(subject(user_id, data_dir=data_dir, configured_salt=configured_salt))
    errors: list[KgrecError] = []
    with forget_lock(data_dir):
        count_forget(data_dir)  # an embed in progress then checks its version (forget_epoch)
        forgotten = store.delete_user(user_id)
        if forgotten is not None:
            report.graph_node, report.relationships = True, forgotten.relationships
        held = [e.forget_user(user_id) for e in (engine, *arm_engines) if e is not None]
        report.serving_state = any(held)
        ledger = event_ids or EventIds.in_data_dir(data_dir)
        try:
            report.event_ids = ledger.forget_user(user_id)
        finally:
            if event_ids is None:
                ledger.close()
        written = WrittenOnline.in_data_dir(data_dir)
        try:
            report.online_ledger = written.forget_user(user_id)
        finally:
            written.close()
        report.text_cache_entries = _forget_text(data_dir, forgotten)
        report.experiment_log_lines = EventLog.in_data_dir(data_dir).forget_user(user_id)
        try:
            report.files_rewritten += _relative(
                forget_in_artifacts(paths.artifacts, user_id), data_dir
            )
        except KgrecError as e:
            errors.append(e)
        try:
            rewritten, deleted = forget_in_snapshots(paths.snapshots, user_id)
            report.files_rewritten += _relative(rewritten, data_dir)
            report.files_deleted += _relative(deleted, data_dir)
        except KgrecError as e:
            errors.append(e)
        report.files_rewritten += _relative(forget_in_rejects(paths.rejects, user_id), data_dir)
    if errors:
        log.error(
            "forgetting shopper %s is incomplete (send the delete again once fixed): %s",
            report.subject,
            "; ".join(map(str, errors)),
        )
        raise errors[0]
    if not report.found:
        log.info("forget shopper %s: nothing held it", report.subject)
        raise NotFoundError(
            "user_id: no shopper with this id: the graph, the service and the files under "
            "the data directory hold none (never seen, or forgotten already)"
        )
    log.info(
        "forgot shopper %s: graph node %s with %d relationships, serving state %s, "
        "%d event ids, %d text-cache entries, %d experiment-log lines, %d files rewritten, "
        "%d deleted",
        report.subject,
        "deleted" if report.graph_node else "absent",
        report.relationships,
        "cleared" if report.serving_state else "absent",
        report.event_ids,
        report.text_cache_entries,
        report.experiment_log_lines,
        len(report.files_rewritten),
        len(report.files_deleted),
    )
    return report


def _forget_text(data_dir: Path, forgotten: ForgottenUser | None) -> int:
    """Remove the cached vector of the shopper's declared attributes' text.

    Nothing is removed when they declared nothing: the empty text is every such
    shopper's.
    """
    if forgotten is None:
        return 0
    text = node_text(USER, forgotten.props)
    if not text:
        return 0
    cache = EmbeddingCache.in_data_dir(data_dir)
    try:
        return cache.delete([text_key(text)])
    finally:
        cache.close()
