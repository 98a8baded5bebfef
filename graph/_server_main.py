"""Process entry of the embedded ArcadeDB Bolt server (``python -m kgrec.graph._server_main``).

Started by :class:`kgrec.graph.EmbeddedServer`; not a public interface. The process holds
an exclusive ``flock`` on ``server/server.lock`` for its whole life, so a state
file whose lock can be taken belongs to a dead process (stale) and is recovered.
It writes ``server/state.json`` (and ``server/ports.json``, which the next start
reuses) once the database answers, and stops the server cleanly on SIGTERM /
SIGINT, or when ``--parent-pid`` is given and no attached process is left
(``server/clients``: the parent and every process that attached since), so a
server started for commands' lifetimes never outlives them.

Stopping closes the databases (ArcadeDB's own stop, given :data:`STOP_DEADLINE_S`)
and then ends the process with ``os._exit``: the JVM keeps a thread per Bolt
client connection, and a normal interpreter exit would wait for those clients to
hang up, with the listener closed and every transaction refused meanwhile.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import NoReturn

from kgrec._locks import exclusive_lock
from kgrec.graph._paths import READER_GROUP, READER_USER, ServerPaths, write_state

STOP_DEADLINE_S = 30.0
"""How long ArcadeDB's own stop (closing the databases) may take before the process exits."""
WAL_FLUSH_AT_COMMIT = 1
"""ArcadeDB's ``txWalFlush``: 1 flushes the write-ahead log's data to disk at every commit.

So a write the API answered 2xx survives a power cut or a kernel crash, not only
a killed process: 0, ArcadeDB's default, leaves the log in the OS page cache. 1 is
``fdatasync`` (the data and what reading it back needs, such as the file's
length); 2 also flushes the rest of the file's metadata (timestamps).
"""

# The read-only group: read records of every type; no schema, security or settings access.
_READER_GROUP_CONFIG = {
    "resultSetLimit": -1,
    "readTimeout": -1,
    "access": [],
    "types": {"*": {"access": ["readRecord"]}},
}


def _no_clients_left(paths: ServerPaths) -> bool:
    """True once no attached process lives.

    The state file is then removed under the start lock, so no process attaches to a server that is
    about to exit.
    """
    if paths.live_clients():
        return False
    with paths.starting():
        if paths.live_clients():
            return False
        paths.state.unlink(missing_ok=True)
        return True


def _ensure_reader(server: object, database: str, password: str) -> None:
    """Create (or reset) the read-only account the exploration path connects as.

    The group goes under every database (``*``) and the user is a member for
    ``database`` only; its password is set from the 0600 file on every start, so
    a deleted or rotated password file takes effect at the next start.
    """
    import jpype

    json_object = jpype.JClass("com.arcadedb.serializer.json.JSONObject")
    security = server._java_server.getSecurity()  # type: ignore[attr-defined]
    security.saveGroup("*", READER_GROUP, json_object(json.dumps(_READER_GROUP_CONFIG)))
    if READER_USER not in {str(name) for name in security.getUsers()}:
        security.createUser(READER_USER, password)
    # updateUser replaces the whole entry (its password hash included), so the
    # password is set after it.
    security.updateUser(
        json_object(json.dumps({"name": READER_USER, "databases": {database: [READER_GROUP]}}))
    )
    security.setUserPassword(READER_USER, password)


def _stop_within(server: object, deadline_s: float) -> bool:
    """Run the server's stop in a thread; True when it finished within ``deadline_s``."""
    done = threading.Event()

    def run() -> None:
        try:
            server.stop()  # type: ignore[attr-defined]
        except Exception as e:  # logged; the process exits either way
            print(f"kgrec graph server: stop failed: {e!r}", file=sys.stderr, flush=True)
        finally:
            done.set()

    threading.Thread(target=run, name="kgrec-server-stop", daemon=True).start()
    return done.wait(deadline_s)


def _exit(code: int) -> NoReturn:
    """End the process now: client connections close with it, and so does the lock."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kgrec.graph._server_main")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--heap-mb", type=int, required=True)
    parser.add_argument("--bolt-port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--command-timeout-ms", type=int, default=0)
    parser.add_argument("--parent-pid", type=int, default=0)
    args = parser.parse_args(argv)

    paths = ServerPaths(args.data_dir)
    # Held for the process's whole life: this stack is never closed, so the lock goes
    # with the process (os._exit below, or the interpreter's exit after a failed start).
    lifetime = contextlib.ExitStack()
    if not lifetime.enter_context(exclusive_lock(paths.lock, blocking=False)):
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
        # txWalFlush and command.timeout as JVM defaults: the server's own configuration
        # does not reach the databases it opens (their settings read 0 with it set there)
        jvm_kwargs={
            "heap_size": f"{args.heap_mb}m",
            "jvm_args": [
                "-Xrs",
                f"-Darcadedb.txWalFlush={WAL_FLUSH_AT_COMMIT}",
                # every command, the exploration path's above all (0: no limit)
                f"-Darcadedb.command.timeout={args.command_timeout_ms}",
            ],
        },
    )
    server.start()
    code = 0
    try:
        server.create_database(args.database)
        _ensure_reader(
            server, args.database, paths.reader_password.read_text(encoding="utf-8").strip()
        )
        ports = {"bolt_port": args.bolt_port, "http_port": args.http_port}
        write_state(paths.ports, ports)
        write_state(
            paths.state,
            {
                "pid": os.getpid(),
                **ports,
                "database": args.database,
                "started_at": time.time(),
                "detached": args.parent_pid == 0,
            },
        )
        print(f"kgrec graph server ready on bolt://127.0.0.1:{args.bolt_port}", flush=True)
        while not stop.wait(1.0):
            if args.parent_pid and _no_clients_left(paths):
                break
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        paths.state.unlink(missing_ok=True)
        stopped = _stop_within(server, STOP_DEADLINE_S)
        if not stopped:
            print(
                f"kgrec graph server: stop did not finish within {STOP_DEADLINE_S:.0f} s; "
                "exiting (the databases recover from their journal at the next start)",
                file=sys.stderr,
            )
        _exit(code if stopped else 1)


if __name__ == "__main__":
    sys.exit(main())
