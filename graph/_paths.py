"""Where the embedded server keeps its files inside the data directory."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any


class ServerPaths:
    """Paths of the embedded server under ``data_dir`` (directories created on use).

    ``graph/``           ArcadeDB's root (databases live in ``graph/databases``)
    ``server/``          ``state.json``, ``password`` (0600), ``server.lock``, ``server.log``
    ``logs/``            ArcadeDB's own logs and JVM crash files
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.graph = self.data_dir / "graph"
        self.server = self.data_dir / "server"
        self.logs = self.data_dir / "logs"
        for d in (self.graph, self.server, self.logs):
            d.mkdir(parents=True, exist_ok=True)
        self.state = self.server / "state.json"
        self.lock = self.server / "server.lock"
        self.start_lock = self.server / "start.lock"
        self.log = self.server / "server.log"
        self.password = self.server / "password"

    def ensure_password(self) -> str:
        """The root password, generated on first use and kept with mode 0600."""
        if not self.password.exists():
            fd = os.open(self.password, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(secrets.token_urlsafe(24))
        self.password.chmod(0o600)
        return self.password.read_text(encoding="utf-8").strip()


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Write a JSON state file atomically (readers never see half a file)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".state-")
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
