"""Settings: sections, KGREC_* variables old and new, unknown keys rejected, values explained."""

from __future__ import annotations

import logging
import typing
from pathlib import Path

import pydantic
import pytest
from pydantic import SecretStr

from kgrec.errors import ConfigError
from kgrec.gnn.config import GNNConfig
from kgrec.settings import Settings
from kgrec.settings_sources import LEGACY_NAMES, env_name, section_fields

OLD_VARIABLES = [
    "KGREC_DATA_DIR",
    "KGREC_NEO4J_URI",
    "KGREC_NEO4J_USER",
    "KGREC_NEO4J_PASSWORD",
    "KGREC_NEO4J_DATABASE",
    "KGREC_NEO4J_READER_USER",
    "KGREC_NEO4J_READER_PASSWORD",
    "KGREC_CONNECT_RETRIES",
    "KGREC_CONNECT_BACKOFF_S",
    "KGREC_QUERY_TIMEOUT_S",
    "KGREC_WRITE_BATCH_SIZE",
    "KGREC_READ_PAGE_SIZE",
    "KGREC_EMBEDDED_DATABASE",
    "KGREC_EMBEDDED_HEAP_MB",
    "KGREC_EMBEDDED_BOLT_PORT",
    "KGREC_EMBEDDED_HTTP_PORT",
    "KGREC_EMBEDDED_START_TIMEOUT_S",
    "KGREC_EMBEDDED_MIN_FREE_MB",
    "KGREC_W_GRAPH",
    "KGREC_W_TEXT",
    "KGREC_W_POP",
    "KGREC_RANKER",
    "KGREC_FRESH_SHARE",
    "KGREC_W_QUERY",
    "KGREC_EXPERIMENTS_FILE",
    "KGREC_API_KEY",
    "KGREC_API_READ_REQUIRES_KEY",
    "KGREC_FORGET_LOG_SALT",
    "KGREC_PSEUDONYMISE_SALT",
    "KGREC_API_HOST",
    "KGREC_API_PORT",
    "KGREC_API_ACCESS_LOG",
    "KGREC_MAX_K",
    "KGREC_EXACT_INDEX_MAX_ITEMS",
    "KGREC_ANN_INDEX",
    "KGREC_HNSW_M",
    "KGREC_HNSW_EF_SEARCH",
    "KGREC_IVF_NLIST",
    "KGREC_IVF_NPROBE",
    "KGREC_CANDIDATES_GRAPH",
    "KGREC_CANDIDATES_TEXT",
    "KGREC_CANDIDATES_POP",
    "KGREC_CANDIDATES_CONTEXT",
    "KGREC_EXACT_FILTER_MAX_ITEMS",
    "KGREC_USER_CACHE_SIZE",
    "KGREC_QUERY_CACHE_SIZE",
    "KGREC_GRAPH_CHECK_INTERVAL_S",
    "KGREC_SEARCH_THREADS",
    "KGREC_IMPORT_CHUNK_ROWS",
    "KGREC_MAX_TITLE_CHARS",
    "KGREC_MAX_TEXT_CHARS",
    "KGREC_CATEGORY_SEPARATOR",
    "KGREC_LIST_SEPARATOR",
    "KGREC_DATASET_DIR",
    "KGREC_TEXT_MODEL",
    "KGREC_TEXT_BACKEND",
    "KGREC_TEXT_DEVICE",
    "KGREC_TEXT_BATCH_SIZE",
    "KGREC_TEXT_MAX_TOKENS",
    "KGREC_TEXT_ONNX_STREAMS",
    "KGREC_GNN_HIDDEN_DIM",
    "KGREC_GNN_LAYERS",
    "KGREC_GNN_EPOCHS",
    "KGREC_GNN_LR",
    "KGREC_GNN_BATCH_SIZE",
    "KGREC_GNN_PATIENCE",
    "KGREC_GNN_MODE",
    "KGREC_GNN_FULL_BATCH_MAX_EDGES",
    "KGREC_GNN_FANOUT",
    "KGREC_INDUCTIVE_SEED_FANOUT",
    "KGREC_INDUCTIVE_FANOUT",
    "KGREC_GNN_SAMPLER",
    "KGREC_GNN_PRODUCT_MEMORY",
    "KGREC_SEED",
    "KGREC_PROMOTE_TOLERANCE",
    "KGREC_KEEP_VERSIONS",
    "KGREC_ARTIFACT_POLL_S",
    "KGREC_DEVICE",
]
"""Every variable of the flat settings (the README's table before the sections)."""


def _other_value(annotation: object, default: object) -> str:
    """A valid value other than the default, as an environment variable would hold it."""
    choices = [a for a in typing.get_args(annotation) if isinstance(a, str)]
    if choices:
        return next(c for c in choices if c != default)
    if isinstance(default, bool):
        return str(not default).lower()
    if isinstance(default, int):
        return str(default + 1)
    if isinstance(default, float):
        return str(default / 2 if default else 0.5)
    if isinstance(default, str):
        return default + "x"
    args = set(typing.get_args(annotation))
    if int in args:
        return "16"
    return "/tmp/somewhere" if Path in args else "someone-long-enough"


def _new_place(old: str) -> tuple[str, str]:
    return LEGACY_NAMES[old.removeprefix("KGREC_").lower()]


def test_environment_sets_fields(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KGREC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KGREC_GRAPH__WRITE_BATCH_SIZE", "250")
    monkeypatch.setenv("KGREC_GNN__HIDDEN_DIM", "32")
    s = Settings()
    assert s.data_dir == tmp_path and s.graph.write_batch_size == 250 and s.embedded
    assert s.gnn.hidden_dim == 32 and s.graph.read_page_size == 5000  # the rest as default


def test_the_gnn_section_is_the_checkpoint_config(monkeypatch: pytest.MonkeyPatch) -> None:
    assert type(Settings().gnn) is GNNConfig and Settings().gnn == GNNConfig()
    monkeypatch.setenv("KGREC_GNN__DROPOUT", "0.3")
    assert Settings().gnn == GNNConfig(dropout=0.3)
    monkeypatch.setenv("KGREC_GNN__HIDDEN_DIM", "2")
    with pytest.raises(pydantic.ValidationError, match=r"gnn.hidden_dim\n.*greater than or"):
        Settings()


@pytest.mark.parametrize("old", [v for v in OLD_VARIABLES if v.lower()[6:] in LEGACY_NAMES])
def test_every_old_name_still_works_and_warns(
    old: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    section, field = _new_place(old)
    info = (section_fields(Settings.model_fields[section].annotation) or {})[field]
    value = _other_value(info.annotation, info.get_default(call_default_factory=True))
    new = env_name(section, field)
    monkeypatch.setenv(new, value)
    expected = Settings()
    monkeypatch.delenv(new)
    monkeypatch.setenv(old, value)
    with caplog.at_level(logging.WARNING, logger="kgrec.settings_sources"):
        got = Settings()
    assert got == expected != Settings.model_construct()
    assert f"{old} is an old name; it still works, but rename it to {new}" in caplog.text


def test_every_old_name_keeps_its_place_or_maps() -> None:
    kept = {
        env_name(n)
        for n, f in Settings.model_fields.items()
        if section_fields(f.annotation) is None
    }
    mapped = {env_name(old) for old in LEGACY_NAMES}
    assert set(OLD_VARIABLES) == kept | mapped and not kept & mapped
    for section, field in LEGACY_NAMES.values():  # every target exists
        assert field in (section_fields(Settings.model_fields[section].annotation) or {})


def test_an_old_and_a_new_name_together_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KGREC_GNN_HIDDEN_DIM", "32")
    monkeypatch.setenv("KGREC_GNN__HIDDEN_DIM", "48")
    with pytest.raises(
        ConfigError,
        match=r"KGREC_GNN_HIDDEN_DIM and KGREC_GNN__HIDDEN_DIM are both set.*remove KGREC_GNN_H",
    ):
        Settings()


def test_a_dotenv_file_takes_old_and_new_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "KGREC_GNN_HIDDEN_DIM=32\nKGREC_API_KEY=secret\nKGREC_GRAPH__READ_PAGE_SIZE=7\n",
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING, logger="kgrec.settings_sources"):
        s = Settings()
    assert s.gnn.hidden_dim == 32 and s.graph.read_page_size == 7
    assert s.serving.api_key == SecretStr("secret")
    assert "rename it to KGREC_SERVING__API_KEY" in caplog.text
    monkeypatch.setenv("KGREC_SERVING__API_KEY", "other")  # the same setting twice
    with pytest.raises(ConfigError, match="KGREC_API_KEY and KGREC_SERVING__API_KEY"):
        Settings()
    (tmp_path / ".env").write_text("KGREC_GRAPH__READ_PAGES=7\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown setting.*KGREC_GRAPH__READ_PAGES;"):
        Settings()


def test_unknown_key_is_rejected_with_the_valid_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KGREC_WRITE_BATCH", "1")
    with pytest.raises(ConfigError, match=r"KGREC_WRITE_BATCH\b.*KGREC_WRITE_BATCH_SIZE"):
        Settings()
    monkeypatch.delenv("KGREC_WRITE_BATCH")
    monkeypatch.setenv("KGREC_GRAPH__WRITE_BATCH", "1")
    with pytest.raises(
        ConfigError, match=r"KGREC_GRAPH__WRITE_BATCH\b.*KGREC_GRAPH__WRITE_BATCH_SIZE"
    ):
        Settings()


def test_invalid_device_lists_valid_values() -> None:
    with pytest.raises(pydantic.ValidationError, match="'auto', 'cpu' or 'cuda'"):
        Settings(device="tpu")


def test_settings_are_frozen() -> None:
    s = Settings()
    with pytest.raises(pydantic.ValidationError):
        s.data_dir = Path("elsewhere")  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        s.graph.write_batch_size = 3  # type: ignore[misc]


def test_updated_changes_only_what_it_names(tmp_path: Path) -> None:
    s = Settings(graph={"write_batch_size": 10})
    changed = s.updated(data_dir=tmp_path, graph={"read_page_size": 7}, gnn={"epochs": 2})
    assert changed.data_dir == tmp_path and changed.paths.root == tmp_path
    assert (changed.graph.write_batch_size, changed.graph.read_page_size) == (10, 7)
    assert changed.gnn == GNNConfig(epochs=2) and s.graph.read_page_size == 5000
    with pytest.raises(pydantic.ValidationError, match="read_page_size"):
        s.updated(graph={"read_page_size": 0})


def test_an_empty_data_dir_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty KGREC_DATA_DIR would make kgrec write into the working directory."""
    monkeypatch.setenv("KGREC_DATA_DIR", "")
    with pytest.raises(pydantic.ValidationError, match="KGREC_DATA_DIR is empty"):
        Settings()
