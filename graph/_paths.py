"""Where the embedded server keeps its files inside the data directory."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kgrec._locks import exclusive_lock
from kgrec.errors import EmbeddedServerError
from kgrec.graph._process import pid_running
from kgrec.paths import DataDir

ROOT_USER = "root"
"""The embedded server's administrator account (password in ``server/password``)."""
READER_USER = "kgrec_reader"
"""The embedded server's read-only account (password in ``server/reader-password``)."""
READER_GROUP = "kgrec_reader"
"""The ArcadeDB security group of :data:`READER_USER`: read records, nothing else."""
SECRET_MODE = 0o600


def _ensure_secret(path: Path) -> str:
    """A random secret kept in ``path`` (mode 0600), generated on first use."""
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SECRET_MODE)
        except FileExistsError:
            pass  # another process created it between the check and the open
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(secrets.token_urlsafe(24))
    path.chmod(SECRET_MODE)
    return path.read_text(encoding="utf-8").strip()


class ServerPaths:
    """Paths of the embedded server under ``data_dir`` (directories created on use).

    ``graph/``           ArcadeDB's root (databases live in ``graph/databases``)
    ``server/``          ``state.json``, ``password`` and ``reader-password`` (0600),
                         ``server.lock``, ``start.lock``, ``server.log``, ``clients/``
                         (one file per process attached to a server started for a
                         command's lifetime, named by its pid), ``ports.json`` (the
                         ports of the last server, reused by the next when free)
    ``logs/``            ArcadeDB's own logs and JVM crash files

    Raises:
        EmbeddedServerError: a directory cannot be created (read-only file system,
            permissions, a file in the way); the message names it.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        names = DataDir(self.data_dir)
        self.graph = names.graph_server
        self.server = names.graph_server_state
        self.logs = names.graph_server_logs
        self.clients = self.server / "clients"
        for d in (self.graph, self.server, self.logs, self.clients):
            try:
                d.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise EmbeddedServerError(
                    f"cannot create {d} for the embedded graph server ({e.strerror}); "
                    "make the data directory writable or point KGREC_DATA_DIR elsewhere"
                ) from e
        self.state = self.server / "state.json"
        self.lock = self.server / "server.lock"
        self.start_lock = self.server / "start.lock"
        self.log = self.server / "server.log"
        self.password = self.server / "password"
        self.reader_password = self.server / "reader-password"
        self.ports = self.server / "ports.json"

    def last_ports(self) -> tuple[int | None, int | None]:
        """(bolt, http) ports the last server of this data directory listened on."""
        data = read_state(self.ports) or {}
        bolt, http = data.get("bolt_port"), data.get("http_port")
        return (
            bolt if isinstance(bolt, int) and 0 < bolt < 65536 else None,
            http if isinstance(http, int) and 0 < http < 65536 else None,
        )

    def ensure_password(self) -> str:
        """The root password, generated on first use and kept with mode 0600."""
        return _ensure_secret(self.password)

    def ensure_reader_password(self) -> str:
        """The read-only account's password, generated on first use, mode 0600."""
        return _ensure_secret(self.reader_password)

    @contextlib.contextmanager
    def starting(self) -> Iterator[None]:
        """Hold the start lock.

        Starting a server, attaching to one, and a server deciding to exit for want of clients never
        interleave.
        """
        with exclusive_lock(self.start_lock):
            yield

    def register_client(self, pid: int) -> Path:
        """Mark one attachment of process ``pid`` (the server stays up while it lives).

        Returns:
            The attachment's file (``clients/<pid>-<token>``); one process may attach
            several times (a CLI command run inside a test session), and each
            :meth:`release_client` removes only its own attachment.
        """
        path = self.clients / f"{pid}-{secrets.token_hex(4)}"
        path.touch()
        return path

    @staticmethod
    def release_client(attachment: Path) -> None:
        """Forget one attachment."""
        attachment.unlink(missing_ok=True)

    def live_clients(self) -> list[int]:
        """Pids of attached processes still alive (attachments of dead ones are removed)."""
        alive = set()
        for entry in self.clients.iterdir():
            pid_text = entry.name.split("-", 1)[0]
            if not pid_text.isdigit():
                continue
            pid = int(pid_text)
            if pid_running(pid):
                alive.add(pid)
            else:
                entry.unlink(missing_ok=True)
        return sorted(alive)


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Write a JSON state file atomically (readers never see half a file)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".state-")  # mode 0600
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(state, f)
    Path(tmp).replace(path)


def read_state(path: Path) -> dict[str, Any] | None:
    """The state file's content, or None when absent or unreadable."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data
