"""Processes and ports of the embedded server: is a pid gone, is a port free."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from pathlib import Path

SERVER_MODULE = "kgrec.graph._server_main"


def pid_running(pid: int) -> bool:
    """True while ``pid`` runs: a zombie (exited, not yet reaped) counts as gone.

    A child of this process is reaped here, so its pid does not linger as a zombie.
    """
    with contextlib.suppress(ChildProcessError):
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True  # no /proc: trust kill(0)
    # "pid (comm) S ...": the state follows the last ')' (comm may hold spaces)
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def is_server_process(pid: int) -> bool:
    """True when ``pid`` runs the embedded server's entry point (not a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return pid_running(pid)  # no /proc: the pid came from the server's own state file
    return SERVER_MODULE.encode() in cmdline


def wait_gone(pid: int, timeout_s: float) -> bool:
    """Wait up to ``timeout_s`` for ``pid`` to end; True when it did."""
    deadline = time.monotonic() + timeout_s
    while pid_running(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def kill_server(pid: int) -> None:
    """SIGKILL ``pid`` when it still runs the embedded server."""
    if pid_running(pid) and is_server_process(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def port_busy(port: int) -> str | None:
    """Why a server could not listen on 127.0.0.1:``port`` now; None when it could.

    Probed with ``SO_REUSEADDR``, as the server's own listeners bind: connections of
    a dead server lingering in TIME_WAIT do not make its port busy, a listener does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            return e.strerror or str(e)
    return None
