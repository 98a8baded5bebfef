"""The server's process checks: a gone pid or a zombie is not running; another program is not it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest

from kgrec.graph._process import SERVER_MODULE, is_server_process, pid_running, wait_gone

# Forks a child that exits at once and is never reaped (a zombie, and not a child of the
# test process, so pid_running cannot reap it), prints its pid, then sleeps.
ZOMBIE_PARENT = textwrap.dedent(
    """
    import os, time
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    print(pid, flush=True)
    time.sleep(120)
    """
)


@contextlib.contextmanager
def _process(*argv: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _gone_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: the pid names no process now
    return proc.pid


def test_a_live_process_runs_and_a_gone_one_does_not() -> None:
    assert pid_running(os.getpid())
    assert not pid_running(_gone_pid())
    assert wait_gone(_gone_pid(), 0.0)


def test_an_exited_child_is_reaped_and_not_running() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    assert wait_gone(proc.pid, 30.0)
    with pytest.raises(ChildProcessError):
        os.waitpid(proc.pid, os.WNOHANG)  # pid_running reaped it


def test_a_zombie_that_is_not_our_child_is_not_running() -> None:
    with _process(sys.executable, "-c", ZOMBIE_PARENT) as parent:
        assert parent.stdout is not None
        zombie = int(parent.stdout.readline())
        deadline = time.monotonic() + 30
        while pid_running(zombie) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(zombie, 0)  # its pid still exists: a zombie, not reaped
        assert not pid_running(zombie)


def test_only_the_server_entry_point_is_the_server() -> None:
    assert not is_server_process(os.getpid())
    assert not is_server_process(_gone_pid())
    # argv holds the module name as its own word, as `python -m kgrec.graph._server_main` does
    started = "import time; print('up', flush=True); time.sleep(120)"
    with _process(sys.executable, "-c", started, SERVER_MODULE) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "up\n"  # past its exec: argv is the new program's
        assert is_server_process(proc.pid)
