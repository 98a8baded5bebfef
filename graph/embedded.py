"""The embedded graph server: a private ArcadeDB Bolt server on loopback.

Used when ``KGREC_GRAPH__NEO4J_URI`` is unset. One server per data directory; its pid,
ports and state are in ``<data_dir>/server/state.json``, its password in
``<data_dir>/server/password`` (mode 0600), its logs in ``<data_dir>/logs``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from kgrec._locks import exclusive_lock
from kgrec.errors import EmbeddedServerError
from kgrec.graph._paths import READER_USER, ROOT_USER, ServerPaths, read_state
from kgrec.graph._process import kill_server, port_busy, wait_gone

log = logging.getLogger(__name__)
_LOG_TAIL_CHARS = 2000
_KILL_WAIT_S = 30.0


@dataclass(frozen=True)
class EmbeddedOptions:
    """How the embedded server runs (the ``KGREC_GRAPH__EMBEDDED_*`` settings).

    Attributes:
        database: database name on the server.
        heap_mb: JVM heap.
        bolt_port: Bolt port; 0 = the last one when free, else any free one.
        http_port: HTTP port; 0 = likewise.
        start_timeout_s: how long to wait for the server to answer.
        min_free_mb: free disk space it needs to start.
        query_timeout_s: how long one command may run on the server
            (``KGREC_GRAPH__QUERY_TIMEOUT_S``; ArcadeDB ignores a Bolt transaction's
            own timeout). The process that starts the server sets it; processes
            that attach later share it.
    """

    database: str
    heap_mb: int
    bolt_port: int
    http_port: int
    start_timeout_s: float
    min_free_mb: int
    query_timeout_s: float = 120.0


@dataclass(frozen=True)
class ServerStatus:
    """What ``kgrec graph status`` reports."""

    running: bool
    data_dir: Path
    pid: int | None = None
    bolt_port: int | None = None
    http_port: int | None = None
    database: str | None = None
    detached: bool | None = None
    recovered_stale: bool = False

    @property
    def uri(self) -> str | None:
        """The Bolt URI of the running server."""
        return f"bolt://127.0.0.1:{self.bolt_port}" if self.running else None


def _lock_is_held(lock: Path) -> bool:
    """True when some process holds the server lock (the server is alive)."""
    with exclusive_lock(lock, blocking=False) as taken:
        return not taken


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _pick_port(wanted: int, last: int | None, setting: str, taken: int | None = None) -> int:
    """The port a new server listens on, never ``taken``.

    ``wanted`` when set (busy: an error saying so), else the last server's when free
    (clients find a restarted server where it was), else a free one.
    """
    if wanted:
        busy = port_busy(wanted)
        if busy is not None:
            raise EmbeddedServerError(
                f"port {wanted} on 127.0.0.1 is busy ({busy}); free it, or set "
                f"{setting}=0 to let kgrec pick a free port"
            )
        return wanted
    if last is not None and last != taken and port_busy(last) is None:
        return last
    port = _free_port()
    while port == taken:
        port = _free_port()
    return port


def _check_runtime() -> None:
    """Fail early, with the fix, when ArcadeDB or its bundled Java runtime is missing."""
    spec = importlib.util.find_spec("arcadedb_embedded")
    if spec is None or spec.origin is None:
        raise EmbeddedServerError(
            "the embedded graph server needs the 'arcadedb-embedded' package: "
            "run `make setup` (or `pip install arcadedb-embedded`), or set KGREC_GRAPH__NEO4J_URI"
        )
    jvm = Path(spec.origin).parent / "jre" / "lib" / "server" / "libjvm.so"
    if not jvm.exists():
        raise EmbeddedServerError(
            f"no Java runtime: {jvm} is missing from the arcadedb-embedded install; reinstall "
            "it (`pip install --force-reinstall arcadedb-embedded`) or set KGREC_GRAPH__NEO4J_URI"
        )


def _check_disk(paths: ServerPaths, min_free_mb: int) -> None:
    """Fail early, with the fix, when the data directory cannot take the server's writes."""
    probe = paths.graph / ".write-probe"
    try:
        with probe.open("wb") as f:
            f.write(b"kgrec")
            f.flush()
            os.fsync(f.fileno())
        probe.unlink()
    except OSError as e:
        raise EmbeddedServerError(
            f"the embedded graph server cannot write into {paths.graph} ({e.strerror}); "
            "make the data directory writable, free disk space, or set KGREC_DATA_DIR"
        ) from e
    free_mb = shutil.disk_usage(paths.graph).free // 2**20
    if free_mb < min_free_mb:
        raise EmbeddedServerError(
            f"only {free_mb} MB free on the disk of {paths.graph}; the embedded graph server "
            f"needs at least {min_free_mb} MB (KGREC_GRAPH__EMBEDDED_MIN_FREE_MB): free space or "
            "set KGREC_DATA_DIR to a larger disk"
        )


def _tail(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-_LOG_TAIL_CHARS:]
    except OSError:
        return ""


class EmbeddedServer:
    """Start, find, and stop the embedded ArcadeDB Bolt server of a data directory.

    Args:
        data_dir: the data directory whose server this is.
        options: heap, ports, database name, timeouts.
    """

    def __init__(self, data_dir: Path, options: EmbeddedOptions) -> None:
        self.options = options
        self.paths = ServerPaths(data_dir)
        self._owned: subprocess.Popen[bytes] | None = None
        self._attachment: Path | None = None

    @property
    def password(self) -> str:
        """The root password of this data directory's server."""
        return self.paths.ensure_password()

    @property
    def auth(self) -> tuple[str, str]:
        """Bolt credentials of the administrator account (writes, schema)."""
        return (ROOT_USER, self.password)

    @property
    def reader_auth(self) -> tuple[str, str]:
        """Bolt credentials of the read-only account (exploration).

        The server itself refuses every write, schema and security command from it.
        """
        return (READER_USER, self.paths.ensure_reader_password())

    def status(self) -> ServerStatus:
        """Report the server; a state file left by a killed process is removed."""
        state = read_state(self.paths.state)
        alive = _lock_is_held(self.paths.lock)
        if state is not None and alive:
            return ServerStatus(
                running=True,
                data_dir=self.paths.data_dir,
                pid=int(state["pid"]),
                bolt_port=int(state["bolt_port"]),
                http_port=int(state["http_port"]),
                database=str(state["database"]),
                detached=bool(state.get("detached", True)),
            )
        stale = state is not None and not alive
        if stale:
            self.paths.state.unlink(missing_ok=True)
        return ServerStatus(running=False, data_dir=self.paths.data_dir, recovered_stale=stale)

    def start(self, *, detach: bool) -> ServerStatus:
        """Start the server, or return the one already running for this data directory.

        Several processes may call this at once on one data directory: one server
        starts and every caller is attached to it.

        Args:
            detach: keep running after this process exits (``kgrec graph start``).
                Otherwise the server stops when the last process attached to it has
                called :meth:`release` or exited, or when :meth:`stop` is called.

        Raises:
            EmbeddedServerError: the data directory is not writable or its disk is
                (nearly) full, a port is busy, the Java runtime is missing, or the
                server did not start; each message says what to do.
        """
        with self.paths.starting():
            current = self.status()
            if current.running:
                if not detach and not current.detached and self._attachment is None:
                    self._attachment = self.paths.register_client(os.getpid())
                return current
            self._wait_for_exit()
            _check_disk(self.paths, self.options.min_free_mb)
            _check_runtime()
            last_bolt, last_http = self.paths.last_ports()
            bolt = _pick_port(self.options.bolt_port, last_bolt, "KGREC_GRAPH__EMBEDDED_BOLT_PORT")
            http = _pick_port(
                self.options.http_port,
                last_http,
                "KGREC_GRAPH__EMBEDDED_HTTP_PORT",
                bolt,
            )
            self.paths.ensure_password()
            self.paths.ensure_reader_password()
            if not detach and self._attachment is None:
                self._attachment = self.paths.register_client(os.getpid())
            cmd = [
                sys.executable,
                "-m",
                "kgrec.graph._server_main",
                "--data-dir",
                str(self.paths.data_dir),
                "--database",
                self.options.database,
                "--heap-mb",
                str(self.options.heap_mb),
                "--bolt-port",
                str(bolt),
                "--http-port",
                str(http),
                "--command-timeout-ms",
                str(max(1, round(self.options.query_timeout_s * 1000))),
                "--parent-pid",
                "0" if detach else str(os.getpid()),
            ]
            log = self.paths.log.open("ab")
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
                cwd=self.paths.logs,
            )
            log.close()
            status = self._wait_ready(proc)
            if not detach:
                self._owned = proc
            return status

    def _wait_for_exit(self, timeout_s: float = 60.0) -> None:
        """Wait for a server that holds its lock but has no state (it is shutting down)."""
        deadline = time.monotonic() + timeout_s
        while _lock_is_held(self.paths.lock):
            if time.monotonic() > deadline:
                raise EmbeddedServerError(
                    f"a graph server process holds {self.paths.lock} but wrote no state "
                    f"for {timeout_s:.0f} s; it may be hung: see {self.paths.log}, or run "
                    "`kgrec graph stop`"
                )
            time.sleep(0.1)

    def release(self) -> None:
        """Detach this process from a server started for commands' lifetimes.

        The server this object started is stopped at once when no other process
        is attached; otherwise it stops by itself when the last one leaves.
        """
        if self._attachment is not None:
            self.paths.release_client(self._attachment)
            self._attachment = None
        if self._owned is None or self.paths.live_clients():
            return
        if self._owned.poll() is None:
            self.stop()
        else:  # it died (killed): a server running now is another one, not ours to stop
            self._owned = None

    def _wait_ready(self, proc: subprocess.Popen[bytes]) -> ServerStatus:
        deadline = time.monotonic() + self.options.start_timeout_s
        while time.monotonic() < deadline:
            state = read_state(self.paths.state)
            if state is not None and state.get("pid") == proc.pid:
                return self.status()
            if proc.poll() is not None:
                raise EmbeddedServerError(
                    f"the embedded graph server exited with status {proc.returncode} while "
                    f"starting; log {self.paths.log}:\n{_tail(self.paths.log)}"
                )
            time.sleep(0.1)
        proc.kill()
        proc.wait()
        raise EmbeddedServerError(
            f"the embedded graph server did not start within "
            f"{self.options.start_timeout_s:.0f} s "
            "(KGREC_GRAPH__EMBEDDED_START_TIMEOUT_S); "
            f"log {self.paths.log}:\n{_tail(self.paths.log)}"
        )

    def stop(self, timeout_s: float = 60.0) -> bool:
        """Stop the running server.

        SIGTERM (it closes its databases and client connections, then exits), and SIGKILL when its
        process still runs after ``timeout_s``. When this returns, the server's process is gone.

        Returns:
            True when a server was running and is now stopped.
        """
        status = self.status()
        if not status.running or status.pid is None:
            return False
        pid = status.pid
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not wait_gone(pid, timeout_s):
            log.warning(
                "graph server pid %d still runs %.0f s after SIGTERM: killing it", pid, timeout_s
            )
            kill_server(pid)
        deadline = time.monotonic() + _KILL_WAIT_S
        while not wait_gone(pid, 0.05) or _lock_is_held(self.paths.lock):
            if time.monotonic() > deadline:
                raise EmbeddedServerError(
                    f"the graph server (pid {pid}) did not exit, even after SIGKILL; see "
                    f"{self.paths.log}"
                )
        if self._owned is not None:
            self._owned.wait()
            self._owned = None
        self.paths.state.unlink(missing_ok=True)
        return True

    @property
    def owns_process(self) -> bool:
        """True when this object started the running server for its own lifetime."""
        return self._owned is not None
