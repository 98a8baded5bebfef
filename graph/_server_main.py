"""Process entry of the embedded ArcadeDB Bolt server (``python -m graph._server_main``).

Started by :class:`graph.EmbeddedServer`; not a public interface. The process holds
an exclusive ``flock`` on ``server/server.lock`` for its whole life, so a state
file whose lock can be taken belongs to a dead process (stale) and is recovered.
It writes ``server/state.json`` once the database answers, and stops the server
cleanly on SIGTERM / SIGINT, or when ``--parent-pid`` is given and that process
is gone (a server started for one command's lifetime never outlives it).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import sys
import threading
import time
from pathlib import Path

from graph._paths import ServerPaths, write_state


def _parent_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return os.getppid() == pid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="graph._server_main")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--heap-mb", type=int, required=True)
    parser.add_argument("--bolt-port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--parent-pid", type=int, default=0)
    args = parser.parse_args(argv)

    paths = ServerPaths(args.data_dir)
    lock = paths.lock.open("a+")
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"another kgrec graph server already holds {paths.lock}", file=sys.stderr)
        return 2

    # ArcadeDB writes ./log relative to the working directory: keep it in the data dir.
    os.chdir(paths.logs)
    os.environ.setdefault("ARCADEDB_JVM_ERROR_FILE", str(paths.logs / "hs_err_pid%p.log"))

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    import arcadedb_embedded as adb

    server = adb.ArcadeDBServer(
        root_path=str(paths.graph),
        root_password=paths.password.read_text(encoding="utf-8").strip(),
        config={
            "host": "127.0.0.1",
            "http_port": args.http_port,
            "server_plugins": "Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
            "bolt_port": args.bolt_port,
        },
        # -Xrs: the JVM leaves SIGTERM/SIGINT to Python, so shutdown below runs.
        jvm_kwargs={"heap_size": f"{args.heap_mb}m", "jvm_args": "-Xrs"},
    )
    server.start()
    try:
        server.create_database(args.database)
        write_state(
            paths.state,
            {
                "pid": os.getpid(),
                "bolt_port": args.bolt_port,
                "http_port": args.http_port,
                "database": args.database,
                "started_at": time.time(),
                "detached": args.parent_pid == 0,
            },
        )
        print(f"kgrec graph server ready on bolt://127.0.0.1:{args.bolt_port}", flush=True)
        while not stop.wait(1.0):
            if args.parent_pid and not _parent_alive(args.parent_pid):
                break
    finally:
        paths.state.unlink(missing_ok=True)
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
