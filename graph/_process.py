"""Processes and ports of the embedded server: is a pid gone, is a port free."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time

import psutil

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
        zombie: bool = psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False  # ended since the kill(0)
    except psutil.AccessDenied:
        return True  # its state is not ours to read: trust kill(0)
    return not zombie


def is_server_process(pid: int) -> bool:
    """True when ``pid`` runs the embedded server's entry point (not a reused pid)."""
    try:
        cmdline: list[str] = psutil.Process(pid).cmdline()
    except psutil.NoSuchProcess:  # gone, or a zombie (ZombieProcess)
        return False
    except psutil.AccessDenied:
        return pid_running(pid)  # unreadable: the pid came from the server's own state file
    return SERVER_MODULE in cmdline


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
