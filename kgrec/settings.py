"""The one settings object of kgrec.

Built once at an entry point (CLI command, API lifespan, test fixture) and passed
down as plain values; nothing reads the environment anywhere else. Settings come
in sections, each set by ``KGREC_<SECTION>__<FIELD>`` (``__`` between section and
field, e.g. ``KGREC_GRAPH__WRITE_BATCH_SIZE``) or a ``.env`` file; the few global
ones by ``KGREC_<FIELD>``. The flat names of earlier versions
(``KGREC_WRITE_BATCH_SIZE``) still work, with a warning naming the new one
(:mod:`kgrec.settings_sources`). Unknown ``KGREC_*`` keys are rejected so a typo
never goes unnoticed. Units are in the names.

The ``gnn`` section *is* :class:`kgrec.gnn.config.GNNConfig`, the frozen dataclass
saved with every checkpoint: its defaults and descriptions live there only.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, TypeAdapter, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from kgrec.errors import ConfigError
from kgrec.gnn.config import GNNConfig
from kgrec.paths import DataDir
from kgrec.pseudonym import salt_problem
from kgrec.settings_sections import (
    ArtifactSettings,
    DeviceName,
    GraphSettings,
    LoaderSettings,
    ServingSettings,
    TextSettings,
)
from kgrec.settings_sources import LegacyEnvSource, without_legacy

__all__ = [
    "SECTIONS",
    "ArtifactSettings",
    "DeviceName",
    "GraphSettings",
    "LoaderSettings",
    "ServingSettings",
    "Settings",
    "TextSettings",
]

ENV_PREFIX = "KGREC_"
NESTED_DELIMITER = "__"


class Settings(BaseSettings):
    """All of kgrec's configuration. See the README's settings table."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED_DELIMITER,
        env_file=".env",
        extra="forbid",
        frozen=True,
        validate_default=True,
    )

    # Global -----------------------------------------------------------------------
    data_dir: Path = Field(Path(".kgrec"), description="Root of all data kgrec writes.")
    device: DeviceName = Field("auto", description="torch device for GNN and ranking.")
    pseudonymise_salt: SecretStr | None = Field(
        None,
        description="Secret (16+ characters) keying the hash that replaces every shopper id "
        "before it is stored (imports, API, `kgrec users delete`); unset = ids kept as given. "
        "Lost = unrecoverable; changed = every shopper orphaned (README, Privacy).",
    )
    forget_log_salt: SecretStr | None = Field(
        None,
        description="Salt of the hash that names a forgotten shopper in the log (`DELETE "
        "/users/{id}`, `kgrec users delete`); unset = a random one kept in "
        "<data_dir>/privacy/salt (mode 0600).",
    )

    # Sections ---------------------------------------------------------------------
    graph: GraphSettings = Field(
        default_factory=GraphSettings, description="Graph server (Neo4j or the embedded one)."
    )
    serving: ServingSettings = Field(default_factory=ServingSettings, description="Serving.")
    loaders: LoaderSettings = Field(default_factory=LoaderSettings, description="Imports.")
    text: TextSettings = Field(default_factory=TextSettings, description="Text encoder.")
    gnn: GNNConfig = Field(
        default_factory=GNNConfig, description="GNN model and training (saved with checkpoints)."
    )
    artifacts: ArtifactSettings = Field(
        default_factory=ArtifactSettings, description="Artifact versions."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Add the source of the old flat names (checked names first, mapped, warned)."""
        legacy = LegacyEnvSource(settings_cls, env_settings, dotenv_settings)
        return (
            init_settings,
            env_settings,
            legacy,
            without_legacy(dotenv_settings),
            file_secret_settings,
        )

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir_not_empty(cls, value: Any) -> Any:
        """An empty ``KGREC_DATA_DIR`` would mean the working directory: refuse it."""
        if isinstance(value, str) and not value.strip():
            raise ValueError(
                "KGREC_DATA_DIR is empty; unset it (default .kgrec) or name a directory"
            )
        return value

    @field_validator("pseudonymise_salt")
    @classmethod
    def _salt_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        """Refuse a short salt: it would make pseudonyms easy to brute-force.

        The error is a ConfigError, not a ValueError, so pydantic does not echo the
        salt.
        """
        problem = None if value is None else salt_problem(value.get_secret_value())
        if problem is not None:
            raise ConfigError(problem)
        return value

    @property
    def paths(self) -> DataDir:
        """Every path under :attr:`data_dir`."""
        return DataDir(self.data_dir)

    @property
    def dataset_root(self) -> Path:
        """Extracted public datasets: ``kgrec.loaders.dataset_dir`` or ``<data_dir>/datasets``."""
        return self.loaders.dataset_dir or self.paths.datasets

    @property
    def embedded(self) -> bool:
        """True when kgrec runs its own ArcadeDB server (no ``kgrec.graph.neo4j_uri`` set)."""
        return self.graph.embedded

    def updated(self, **changes: Any) -> Settings:
        """A validated copy with some values changed; a section's are a mapping of its fields.

        ``settings.updated(data_dir=p, graph={"write_batch_size": 10})`` keeps every
        other graph setting. What was set explicitly stays set (``model_fields_set``).

        Raises:
            pydantic.ValidationError: a changed value is invalid.
        """
        values: dict[str, Any] = {name: getattr(self, name) for name in self.model_fields_set}
        for name, change in changes.items():
            if name in SECTIONS and isinstance(change, Mapping):
                current = getattr(self, name)
                change = {**TypeAdapter(type(current)).dump_python(current), **change}
            values[name] = change
        return type(self)(**values)

    def resolve_device(self) -> str:
        """The torch device name: ``cuda`` when asked for or available under ``auto``."""
        import torch

        if self.device == "cuda" and not torch.cuda.is_available():
            raise ConfigError(
                "KGREC_DEVICE=cuda but torch sees no CUDA device; use 'auto' or 'cpu'"
            )
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return self.device


SECTIONS: tuple[str, ...] = ("graph", "serving", "loaders", "text", "gnn", "artifacts")
"""The fields of :class:`Settings` that are sections (``KGREC_<SECTION>__<FIELD>``)."""
