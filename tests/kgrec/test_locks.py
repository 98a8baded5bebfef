"""exclusive_lock: one holder at a time, across processes and across threads of one process."""

from __future__ import annotations

import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from kgrec._locks import exclusive_lock

# Tries the lock without waiting from another process: prints "taken" or "busy".
TRY_LOCK = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from kgrec._locks import exclusive_lock

    with exclusive_lock(Path(sys.argv[1]), blocking=False) as taken:
        print("taken" if taken else "busy", flush=True)
    """
)


def _try_from_another_process(path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", TRY_LOCK, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_another_process_is_refused_while_held_and_served_after(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with exclusive_lock(path) as taken:
        assert taken
        assert _try_from_another_process(path) == "busy"
    assert _try_from_another_process(path) == "taken"


def test_a_second_open_of_the_file_in_this_process_is_refused_while_held(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with exclusive_lock(path, blocking=False) as first:
        assert first
        with exclusive_lock(path, blocking=False) as second:
            assert not second
    with exclusive_lock(path, blocking=False) as again:
        assert again


def test_a_blocking_acquire_waits_for_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    order: list[str] = []
    waiting = threading.Event()

    def wait_for_it() -> None:
        waiting.set()
        with exclusive_lock(path):
            order.append("waiter")

    with exclusive_lock(path):
        thread = threading.Thread(target=wait_for_it)
        thread.start()
        assert waiting.wait(10)
        time.sleep(0.2)  # the waiter is in flock now, or about to be
        order.append("holder")
    thread.join(10)
    assert not thread.is_alive()
    assert order == ["holder", "waiter"]


def test_an_exception_releases_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with pytest.raises(RuntimeError), exclusive_lock(path):
        raise RuntimeError("boom")
    with exclusive_lock(path, blocking=False) as taken:
        assert taken


def test_the_file_is_created_with_the_mode_and_never_truncated(tmp_path: Path) -> None:
    created = tmp_path / "new.lock"
    with exclusive_lock(created, mode=0o600):
        pass
    assert stat.S_IMODE(created.stat().st_mode) == 0o600
    kept = tmp_path / "kept.lock"
    kept.write_text("pid 42")
    with exclusive_lock(kept):
        pass
    assert kept.read_text() == "pid 42"
