"""README.md's troubleshooting quotes the error texts users will see, exactly.

Each test makes the code produce one message, replaces what depends on the
machine (ports, temporary paths) by the README's example values, and checks the
README's *Troubleshooting* section holds it. A reworded message fails here until
the README quotes the new text.
"""

from __future__ import annotations

import importlib.util
import re
import socket
import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kgrec.api.cli import app
from kgrec.errors import EmbeddedServerError, EncoderError, KgrecError, NotFoundError
from kgrec.graph import embedded
from kgrec.loaders.encoding import decode_error
from kgrec.settings import Settings

README = Path(__file__).resolve().parents[3] / "README.md"
PORT, NEXT_PORT, BOLT = "8000", "8001", "7687"
CWD = "/home/me/shop"


def troubleshooting() -> str:
    """The README's Troubleshooting section, every run of whitespace one space."""
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Troubleshooting\n")
    return " ".join(text[start : text.index("\n## ", start + 1)].split())


def assert_quoted(message: str) -> None:
    """The README quotes ``message`` (whitespace-insensitive)."""
    flat = " ".join(message.split())
    assert flat in troubleshooting(), f"README.md's Troubleshooting does not quote:\n{flat}"


def run(data_dir: Path, *args: str) -> str:
    """``kgrec ARGS`` in-process; the error line main() would print, or the output."""
    result = CliRunner().invoke(
        app, list(args), env={"KGREC_DATA_DIR": str(data_dir), "COLUMNS": "400"}
    )
    if isinstance(result.exception, KgrecError):
        return f"error: {result.exception}"
    return " ".join(result.output.replace("│", " ").split())


def test_serve_on_a_busy_port(tmp_path: Path, busy_port: int) -> None:
    shown = run(tmp_path, "serve", "--port", str(busy_port))
    assert_quoted(shown.replace(str(busy_port + 1), NEXT_PORT).replace(str(busy_port), PORT))


def test_a_busy_fixed_port_of_the_embedded_server(busy_port: int) -> None:
    with pytest.raises(EmbeddedServerError) as e:
        embedded._pick_port(busy_port, None, "KGREC_GRAPH__EMBEDDED_BOLT_PORT")
    assert_quoted(f"error: {e.value}".replace(str(busy_port), BOLT))


def test_no_java_runtime_and_no_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "arcadedb_embedded"
    spec = types.SimpleNamespace(origin=str(package / "__init__.py"))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
    with pytest.raises(EmbeddedServerError) as e:
        embedded._check_runtime()
    assert_quoted(f"error: {e.value}".replace(str(package), ".../site-packages/arcadedb_embedded"))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EmbeddedServerError) as e:
        embedded._check_runtime()
    assert_quoted(f"error: {e.value}")


def test_a_text_model_that_is_not_there() -> None:
    from kgrec.text_encoders import load_encoder

    with pytest.raises(EncoderError) as e:
        settings = Settings()
        load_encoder(settings.text, settings.paths.onnx_models, model=Path("/models/minilm"))
    assert_quoted(f"error: {e.value}")


def test_embed_before_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kgrec.gnn.checkpoint import Checkpoint
    from kgrec.gnn.latest_model import LATEST_CHECKPOINT

    monkeypatch.chdir(tmp_path)
    with pytest.raises(KgrecError) as e:
        Checkpoint.load(Settings().paths.checkpoints / LATEST_CHECKPOINT)
    assert_quoted(f"error: {e.value}")


def test_serve_without_artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert_quoted(run(Path(".kgrec"), "serve"))


def test_graph_status_when_stopped(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert_quoted(run(data, "graph", "status").replace(str(data), f"{CWD}/.kgrec"))


def test_a_neo4j_that_does_not_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a free port: nothing listens there
        s.bind(("127.0.0.1", 0))
        uri = f"bolt://127.0.0.1:{s.getsockname()[1]}"
    for name, value in {
        "KGREC_GRAPH__NEO4J_URI": uri,
        "KGREC_GRAPH__NEO4J_PASSWORD": "x",
        "KGREC_GRAPH__CONNECT_RETRIES": "0",
    }.items():
        monkeypatch.setenv(name, value)
    shown = run(tmp_path, "cypher", "RETURN 1")
    shown = re.sub(r"after 1 attempts \(.*\);", "after 6 attempts (...);", shown, flags=re.S)
    assert_quoted(shown.replace(uri, f"bolt://127.0.0.1:{BOLT}"))


def test_a_file_that_is_not_utf8(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("products.csv").write_bytes("id,title\np1,Plain\np2,Crème brûlée\n".encode("latin-1"))
    assert_quoted(f"error: {decode_error(Path('products.csv'), 'utf-8', csv=True, cause='')}")


def test_a_wrong_file_path(tmp_path: Path) -> None:
    shown = run(tmp_path, "import", "--products", "prodcts.csv")
    message = shown[shown.index("Invalid value") : shown.index("╰")]
    assert_quoted(message.replace(str(Path.cwd()), CWD))


def test_an_unknown_shopper_in_explain() -> None:
    from kgrec.api.routers.explain import unknown_shopper

    error: NotFoundError = unknown_shopper("nobody", "p001")
    assert_quoted(f'{{"detail": "{error}"}}')


def test_a_mistyped_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KGREC_WRITE_BATCH", "1")
    with pytest.raises(KgrecError) as e:
        Settings()
    shown = f"error: {e.value}"
    cut = "KGREC_ARTIFACTS__PROMOTE_TOLERANCE,"  # the README quotes the list up to here
    assert_quoted(shown[: shown.index(cut) + len(cut)])
    assert "(old flat names still accepted: " in shown
