"""The embedded ArcadeDB server: lifecycle, persistence, stale-state recovery, clear errors."""

from __future__ import annotations

import base64
import importlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kgrec.errors import EmbeddedServerError, GraphConnectionError, QueryError
from kgrec.graph import EmbeddedServer, GraphStore, connect_store, embedded_server, open_graph
from tests.utils.settings import make_settings

pytestmark = pytest.mark.neo4j


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    srv = _server(tmp_path / "data")
    yield srv
    srv.stop()


def _server(data_dir: Path, **graph: object) -> EmbeddedServer:
    """The embedded server of ``data_dir`` with the test settings (and ``graph`` changes)."""
    return embedded_server(make_settings(data_dir, graph=graph).graph, data_dir)


def _connect(srv: EmbeddedServer) -> GraphStore:
    st = srv.status()
    assert st.uri is not None and st.database is not None
    graph = make_settings(srv.paths.data_dir).graph
    return connect_store(graph, st.uri, srv.auth, st.database)


def test_files_stay_in_the_data_directory(server: EmbeddedServer, tmp_path: Path) -> None:
    cwd = Path.cwd()
    status = server.start(detach=True)
    assert status.running and status.pid != os.getpid()
    data = tmp_path / "data"
    assert (data / "graph" / "databases" / "kgrec").is_dir()
    assert (data / "server" / "state.json").is_file()
    assert stat.S_IMODE((data / "server" / "password").stat().st_mode) == 0o600
    assert (data / "logs").is_dir()
    assert not (cwd / "log").exists() or (cwd / "log").stat().st_mtime < time.time() - 600


def test_every_commit_flushes_the_write_ahead_log(server: EmbeddedServer) -> None:
    """A write the API answered 2xx survives a power cut: txWalFlush 1, not ArcadeDB's 0.

    Read from the database's own settings (its configuration, not the server's, is
    what a commit follows), through the server's HTTP API as root.
    """
    status = server.start(detach=True)
    token = base64.b64encode(f"{server.auth[0]}:{server.auth[1]}".encode()).decode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{status.http_port}/api/v1/query/{status.database}",
        data=json.dumps(
            {"language": "sql", "command": "SELECT settings FROM schema:database"}
        ).encode(),
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        settings = json.load(answer)["result"][0]["settings"]
    flush = {s["key"]: s["value"] for s in settings}["arcadedb.txWalFlush"]
    assert flush == 1


def test_a_long_exploration_query_stops_at_the_query_timeout(tmp_path: Path) -> None:
    """ArcadeDB ignores a Bolt transaction's timeout: the server enforces the setting itself."""
    srv = _server(tmp_path / "data", query_timeout_s=0.5)
    try:
        srv.start(detach=True)
        with _connect(srv) as store:
            start = time.monotonic()
            with pytest.raises(QueryError, match="timeout"):
                # about 9M rows: seconds of work on two cores, stopped after half a second
                store.cypher(
                    "UNWIND range(1, 3000) AS a UNWIND range(1, 3000) AS b RETURN count(a + b)"
                )
            assert time.monotonic() - start < 30
            assert store.cypher("RETURN 1 AS one")["one"].tolist() == [1]  # the server serves on
    finally:
        srv.stop()


def test_only_loopback_is_bound(server: EmbeddedServer) -> None:
    status = server.start(detach=True)
    assert status.bolt_port is not None
    # Reachable on loopback ...
    with socket.create_connection(("127.0.0.1", status.bolt_port), timeout=2):
        pass
    # ... and not on the machine's other addresses.
    infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    for addr in {str(info[4][0]) for info in infos}:
        if addr.startswith("127."):
            continue
        with pytest.raises(OSError), socket.create_connection((addr, status.bolt_port), timeout=1):
            pass


def test_data_survives_a_restart(server: EmbeddedServer) -> None:
    server.start(detach=True)
    with _connect(server) as store:
        store.create_schema()
        store.upsert_products([{"id": "p1", "title": "persisted"}])
    assert server.stop()
    assert not server.status().running
    server.start(detach=True)
    with _connect(server) as store:
        assert store.nodes_by_id("Product", ["p1"])["p1"]["title"] == "persisted"


def test_stale_state_of_a_killed_server_is_recovered(server: EmbeddedServer) -> None:
    first = server.start(detach=True)
    with _connect(server) as store:
        store.upsert_products([{"id": "p1", "title": "before the crash"}])
    assert first.pid is not None
    os.kill(first.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while server.paths.lock.exists() and time.monotonic() < deadline:
        status = server.status()
        if not status.running:
            break
        time.sleep(0.1)
    assert status.recovered_stale and not status.running
    second = server.start(detach=True)
    assert second.running and second.pid != first.pid
    with _connect(server) as store:
        assert store.nodes_by_id("Product", ["p1"])["p1"]["title"] == "before the crash"


def test_attaches_to_a_running_server(server: EmbeddedServer) -> None:
    started = server.start(detach=True)
    settings = make_settings(server.paths.data_dir)
    with open_graph(settings.graph, settings.data_dir) as store:
        assert store.uri == started.uri
    assert server.status().running  # open_graph did not stop a server it did not start


def test_open_graph_stops_the_server_it_started(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    with open_graph(settings.graph, settings.data_dir) as store:
        assert store.ping()
    assert not embedded_server(settings.graph, settings.data_dir).status().running


def test_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        srv = _server(tmp_path / "data", embedded_bolt_port=port)
        with pytest.raises(
            EmbeddedServerError, match=f"port {port}.*KGREC_GRAPH__EMBEDDED_BOLT_PORT"
        ):
            srv.start(detach=True)


def test_connection_error_names_the_uri(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = make_settings(tmp_path, graph={"connect_retries": 0})
    from kgrec.errors import GraphConnectionError

    uri = f"bolt://127.0.0.1:{port}"
    with pytest.raises(GraphConnectionError, match=uri):
        connect_store(settings.graph, uri, ("neo4j", "x"), "neo4j")


def test_open_graph_can_start_before_neo4j_answers(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uri = f"bolt://127.0.0.1:{port}"
    settings = make_settings(tmp_path, graph={"neo4j_uri": uri, "connect_retries": 0})
    with (
        pytest.raises(GraphConnectionError, match=uri),
        open_graph(settings.graph, settings.data_dir),
    ):
        pass
    with open_graph(
        settings.graph, settings.data_dir, require_answer=False
    ) as store:  # what `kgrec serve` does
        assert store.uri == uri and not store.reachable()


def test_missing_java_runtime_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An arcadedb_embedded install whose bundled JRE is gone (a broken or partial install).
    broken = tmp_path / "site" / "arcadedb_embedded"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "arcadedb_embedded", raising=False)
    importlib.invalidate_caches()
    srv = _server(tmp_path / "data")
    with pytest.raises(EmbeddedServerError, match=r"no Java runtime.*libjvm\.so.*reinstall"):
        srv.start(detach=True)
    assert not srv.status().running


_ATTACH = """
import sys, time
from pathlib import Path
from kgrec.graph import open_graph
from kgrec.settings import Settings
settings = Settings(
    data_dir=Path(sys.argv[1]), graph={"embedded_heap_mb": 512, "connect_retries": 2}
)
with open_graph(settings.graph, settings.data_dir, create_schema=False) as store:
    print(store.uri, flush=True)
    time.sleep(float(sys.argv[2]))
    print("still answers" if store.ping() else "lost the server", flush=True)
"""


def test_two_processes_starting_at_once_share_one_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KGREC_")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _ATTACH, str(data), hold],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for hold in ("1", "12")  # the first leaves while the second still works
    ]
    outputs = [p.communicate(timeout=240) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.splitlines()[1] == "still answers", out
    uris = {out.splitlines()[0] for out, _ in outputs}
    assert len(uris) == 1, uris  # one server, both attached
    server = _server(data)
    deadline = time.monotonic() + 20
    while server.status().running and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not server.status().running  # gone once the last process left
    assert not server.paths.live_clients()


def test_secret_and_state_files_stay_private_across_restarts(server: EmbeddedServer) -> None:
    server.start(detach=True)
    server.stop()
    server.paths.password.chmod(0o644)  # loosened by hand between runs
    server.start(detach=True)
    for path in (server.paths.password, server.paths.reader_password, server.paths.state):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_an_unwritable_data_directory_is_a_clear_error() -> None:
    with pytest.raises(EmbeddedServerError, match=r"cannot create /sys/kgrec-\w+.*KGREC_DATA_DIR"):
        _server(Path("/sys/kgrec-test"))


def test_a_full_disk_is_a_clear_error(tmp_path: Path) -> None:
    srv = _server(tmp_path / "data", embedded_min_free_mb=10**9)
    with pytest.raises(EmbeddedServerError, match=r"MB free.*KGREC_GRAPH__EMBEDDED_MIN_FREE_MB"):
        srv.start(detach=True)
    assert not srv.status().running


def _process_gone(pid: int) -> bool:
    """True when ``pid`` is no running process (gone, or a zombie awaiting its parent)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def test_stop_with_a_connected_client_leaves_no_process(server: EmbeddedServer) -> None:
    status = server.start(detach=True)
    assert status.pid is not None
    with _connect(server) as store:  # a driver with a pooled connection open
        store.create_schema()
        store.upsert_products([{"id": "p1", "title": "connected"}])
        started = time.monotonic()
        assert server.stop(timeout_s=30)
        assert time.monotonic() - started < 35
        assert _process_gone(status.pid)  # stop returned: the process is gone
        assert not server.status().running
        assert not store.reachable()  # the client sees it gone
    server.start(detach=True)
    with _connect(server) as store:
        assert store.nodes_by_id("Product", ["p1"])["p1"]["title"] == "connected"


def test_a_restarted_server_keeps_its_ports_when_free(server: EmbeddedServer) -> None:
    first = server.start(detach=True)
    assert first.pid is not None and first.bolt_port is not None
    os.kill(first.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while server.status().running and time.monotonic() < deadline:
        time.sleep(0.05)
    second = server.start(detach=True)  # right after the crash: its ports are free again
    assert (second.bolt_port, second.http_port) == (first.bolt_port, first.http_port)
    assert second.pid != first.pid
    server.stop()
    with socket.socket() as busy:  # another program took the Bolt port meanwhile
        busy.bind(("127.0.0.1", first.bolt_port))
        busy.listen()
        third = server.start(detach=True)
    assert third.running and third.bolt_port != first.bolt_port
    assert third.http_port == first.http_port
