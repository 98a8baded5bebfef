"""The settings source of kgrec's old flat variable names, and the name check.

Settings moved into sections (``KGREC_GNN_HIDDEN_DIM`` became
``KGREC_GNN__HIDDEN_DIM``, ``KGREC_WRITE_BATCH_SIZE`` became
``KGREC_GRAPH__WRITE_BATCH_SIZE``). :class:`LegacyEnvSource` reads the old names
from the environment and the ``.env`` file, logs a warning naming the new one
and hands the value to its new place; the same setting under both names is an
error naming both. It also rejects ``KGREC_*`` names that mean nothing, listing
the valid ones, so a typo never goes unnoticed.
"""

from __future__ import annotations

import dataclasses
import logging
import typing
from typing import Any, Final

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource

from kgrec.errors import ConfigError

log = logging.getLogger(__name__)

_PREFIX: Final = "KGREC_"
_DELIMITER: Final = "__"
_TEST_PREFIX: Final = "KGREC_TEST_"
"""Variables read by the test suite only."""

_MOVED: Final[dict[str, tuple[str, ...]]] = {
    "graph": (
        "neo4j_uri",
        "neo4j_user",
        "neo4j_password",
        "neo4j_database",
        "neo4j_reader_user",
        "neo4j_reader_password",
        "connect_retries",
        "connect_backoff_s",
        "query_timeout_s",
        "write_batch_size",
        "read_page_size",
        "embedded_database",
        "embedded_heap_mb",
        "embedded_bolt_port",
        "embedded_http_port",
        "embedded_start_timeout_s",
        "embedded_min_free_mb",
    ),
    "serving": (
        "w_graph",
        "w_text",
        "w_pop",
        "ranker",
        "fresh_share",
        "w_query",
        "experiments_file",
        "api_key",
        "api_read_requires_key",
        "api_host",
        "api_port",
        "api_access_log",
        "max_k",
        "exact_index_max_items",
        "ann_index",
        "hnsw_m",
        "hnsw_ef_search",
        "ivf_nlist",
        "ivf_nprobe",
        "candidates_graph",
        "candidates_text",
        "candidates_pop",
        "candidates_context",
        "exact_filter_max_items",
        "user_cache_size",
        "query_cache_size",
        "graph_check_interval_s",
        "search_threads",
        "inductive_seed_fanout",
        "inductive_fanout",
        "artifact_poll_s",
    ),
    "loaders": (
        "import_chunk_rows",
        "max_title_chars",
        "max_text_chars",
        "category_separator",
        "list_separator",
        "dataset_dir",
    ),
    "artifacts": ("promote_tolerance", "keep_versions"),
}
"""Old top-level fields that moved into a section under the same name."""

_RENAMED_PREFIX: Final[dict[str, tuple[str, ...]]] = {
    "text": ("model", "backend", "device", "batch_size", "max_tokens", "onnx_streams"),
    "gnn": (
        "hidden_dim",
        "layers",
        "epochs",
        "lr",
        "batch_size",
        "patience",
        "mode",
        "full_batch_max_edges",
        "fanout",
        "sampler",
        "product_memory",
    ),
}
"""Old ``<section>_<field>`` fields that became ``<section>.<field>``."""

LEGACY_NAMES: Final[dict[str, tuple[str, str]]] = {
    **{field: (section, field) for section, fields in _MOVED.items() for field in fields},
    **{
        f"{section}_{field}": (section, field)
        for section, fields in _RENAMED_PREFIX.items()
        for field in fields
    },
    "seed": ("gnn", "seed"),
}
"""Every old flat field name -> (section, field) of its new place."""


def env_name(*path: str) -> str:
    """The environment variable of the setting at ``path`` (section and field, or one name).

    ``("graph", "write_batch_size")`` -> ``KGREC_GRAPH__WRITE_BATCH_SIZE``; one name
    for a global setting.
    """
    return (_PREFIX + _DELIMITER.join(path)).upper()


def section_fields(annotation: object) -> dict[str, FieldInfo] | None:
    """The fields of a section type (a pydantic model or a dataclass), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return dict(annotation.model_fields)
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        hints = typing.get_type_hints(annotation, include_extras=True)
        return {
            f.name: FieldInfo.from_annotated_attribute(hints[f.name], f.default)
            for f in dataclasses.fields(annotation)
        }
    return None


def valid_names(settings_cls: type[BaseSettings]) -> set[str]:
    """Every ``KGREC_*`` variable that sets one setting (the new names)."""
    names: set[str] = set()
    for name, info in settings_cls.model_fields.items():
        fields = section_fields(info.annotation)
        if fields is None:
            names.add(env_name(name))
        else:
            names.update(env_name(name, sub) for sub in fields)
    return names


def _variables(*sources: PydanticBaseSettingsSource) -> dict[str, str]:
    """The ``KGREC_*`` variables the sources hold, upper-cased; later sources win."""
    found: dict[str, str] = {}
    for source in sources:
        if isinstance(source, EnvSettingsSource):
            for key, value in source.env_vars.items():
                if key.upper().startswith(_PREFIX) and value is not None:
                    found[key.upper()] = value
    return found


class LegacyEnvSource(PydanticBaseSettingsSource):
    """Checks every ``KGREC_*`` name; maps the old flat ones to their sections.

    Args:
        settings_cls: the settings class being built.
        sources: the environment and ``.env`` sources whose variables to read.

    Raises:
        ConfigError: (when called) an unknown name, with the valid ones; or one
            setting given under its old and its new name, naming both.
    """

    def __init__(
        self, settings_cls: type[BaseSettings], *sources: PydanticBaseSettingsSource
    ) -> None:
        super().__init__(settings_cls)
        self._sources = sources

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: :meth:`__call__` returns every value at once."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        """The old names' values, nested as ``{section: {field: value}}``."""
        variables = _variables(*self._sources)
        valid = valid_names(self.settings_cls)
        legacy = {env_name(old): new for old, new in LEGACY_NAMES.items()}
        unknown = sorted(
            k
            for k in variables
            if k not in valid and k not in legacy and not k.startswith(_TEST_PREFIX)
        )
        if unknown:
            raise ConfigError(
                f"unknown setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))} "
                f"(old flat names still accepted: {', '.join(sorted(legacy))})"
            )
        values: dict[str, dict[str, str]] = {}
        for old in sorted(k for k in variables if k in legacy):
            section, field = legacy[old]
            new = env_name(section, field)
            if new in variables:
                raise ConfigError(
                    f"{old} and {new} are both set: {old} is the old name of {new}; remove {old}"
                )
            log.warning("%s is an old name; it still works, but rename it to %s", old, new)
            values.setdefault(section, {})[field] = variables[old]
        return values


class _WithoutLegacy(PydanticBaseSettingsSource):
    """A source's values less the old flat names (which :class:`LegacyEnvSource` maps)."""

    def __init__(self, inner: PydanticBaseSettingsSource) -> None:
        super().__init__(inner.settings_cls)
        self._inner = inner

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: :meth:`__call__` returns every value at once."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        """The inner source's values without the old names it kept as extras."""
        old = {env_name(name).lower() for name in LEGACY_NAMES} | {n.lower() for n in LEGACY_NAMES}
        return {k: v for k, v in self._inner().items() if k.lower() not in old}


def without_legacy(source: PydanticBaseSettingsSource) -> PydanticBaseSettingsSource:
    """``source`` less the old flat names (the ``.env`` file keeps them as extras)."""
    return _WithoutLegacy(source)
