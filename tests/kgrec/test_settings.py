"""Settings: KGREC_* variables, unknown keys rejected, invalid values explained."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from kgrec.errors import ConfigError
from kgrec.settings import Settings


def test_environment_sets_fields(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KGREC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KGREC_WRITE_BATCH_SIZE", "250")
    s = Settings()
    assert s.data_dir == tmp_path and s.write_batch_size == 250 and s.embedded


def test_unknown_key_is_rejected_with_the_valid_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KGREC_WRITE_BATCH", "1")
    with pytest.raises(ConfigError, match=r"KGREC_WRITE_BATCH\b.*KGREC_WRITE_BATCH_SIZE"):
        Settings()


def test_invalid_device_lists_valid_values() -> None:
    with pytest.raises(pydantic.ValidationError, match="'auto', 'cpu' or 'cuda'"):
        Settings(device="tpu")


def test_settings_are_frozen() -> None:
    s = Settings()
    with pytest.raises(pydantic.ValidationError):
        s.write_batch_size = 3  # type: ignore[misc]


def test_an_empty_data_dir_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty KGREC_DATA_DIR would make kgrec write into the working directory."""
    monkeypatch.setenv("KGREC_DATA_DIR", "")
    with pytest.raises(pydantic.ValidationError, match="KGREC_DATA_DIR is empty"):
        Settings()
