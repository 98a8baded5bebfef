"""The experiment log: fsynced appends that survive a restart, a kill -9 and a torn line.

Forgetting a shopper rewrites it without their lines.
"""

from __future__ import annotations

import logging
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kgrec.api.experiments.log import EventLog

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from kgrec.api.experiments.log import EventLog

    log = EventLog(Path(sys.argv[1]))
    n = 0
    while True:
        log.append([{"type": "impression", "request_id": f"{n:032x}", "n": n}])
        print(n, flush=True)  # acknowledged: the append returned
        n += 1
    """
)


def test_records_survive_a_new_log_object(tmp_path: Path) -> None:
    path = tmp_path / "experiments" / "events.jsonl"
    EventLog(path).append([{"type": "impression", "request_id": "a"}, {"type": "event", "n": 1}])
    EventLog(path).append([{"type": "event", "user_id": "ü"}])
    assert list(EventLog(path).read()) == [
        {"type": "impression", "request_id": "a"},
        {"type": "event", "n": 1},
        {"type": "event", "user_id": "ü"},
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_append_is_fsynced_before_it_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "events.jsonl"
    synced: list[bytes] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        real(fd)
        if stat.S_ISREG(os.fstat(fd).st_mode):
            synced.append(path.read_bytes())

    monkeypatch.setattr(os, "fsync", fsync)
    EventLog(path).append([{"n": 1}])
    assert synced == [b'{"n":1}\n']


def test_a_torn_last_line_is_skipped_and_not_glued_to(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "events.jsonl"
    log = EventLog(path)
    log.append([{"n": 1}])
    with path.open("ab") as f:
        f.write(b'{"n": 2, "user_id": "cut sho')  # a crash in the middle of a write
    with caplog.at_level(logging.WARNING, logger="api.experiments.log"):
        assert list(log.read()) == [{"n": 1}]
    assert "line 2 is not a complete JSON record" in caplog.text
    log.append([{"n": 3}])
    assert list(log.read()) == [{"n": 1}, {"n": 3}]


def test_every_acknowledged_append_survives_a_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    acknowledged = -1
    try:
        while acknowledged < 200:
            line = proc.stdout.readline()
            assert line, "the writer died"
            acknowledged = int(line)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    numbers = [r["n"] for r in EventLog(path).read()]
    assert numbers[: acknowledged + 1] == list(range(acknowledged + 1))
    assert numbers == list(range(len(numbers)))  # nothing doubled, nothing out of order
    EventLog(path).append([{"n": "after"}])
    assert list(EventLog(path).read())[-1] == {"n": "after"}


def test_forget_removes_exactly_the_shoppers_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    log = EventLog(path)
    log.append(
        [
            {"type": "impression", "user_id": "shopper-1", "request_id": "r1"},
            {"type": "impression", "user_id": None, "session_id": "s9", "request_id": "r2"},
            {"type": "event", "user_id": "shopper-1", "request_id": "r1"},
            {"type": "event", "user_id": "shopper-2", "request_id": "r2"},
        ]
    )
    with path.open("ab") as f:
        f.write(b'{"type": "event", "user_id": "shopper-1", "request_')  # torn
    assert log.forget_user("shopper-1") == 2
    assert b"shopper-1" not in path.read_bytes()
    assert [r["request_id"] for r in log.read()] == ["r2", "r2"]
    assert log.forget_user("shopper-1") == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(tmp_path.glob("*.tmp"))
    assert EventLog(tmp_path / "none.jsonl").forget_user("x") == 0
