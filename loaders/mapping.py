"""Column mapping files: how a catalogue export's columns become kgrec's fields.

A mapping is a small TOML file with one optional table per entity kind (one per
imported file)::

    [products]
    rename = { sku = "id", name = "title", maker = "brand_id", "Avg Stars" = "avg_stars" }
    keep = ["color", "avg_stars"]        # extra attributes kept on the node
    ignore = ["internal_note"]           # columns dropped on purpose
    types = { avg_stars = "float" }      # how extra attributes are typed
    encoding = "cp1252"                  # the file's text encoding (default utf-8)
    delimiter = ";"                      # CSV delimiter (default: detected)
    category_separator = " / "   # in category_path (default KGREC_LOADERS__CATEGORY_SEPARATOR)

    [interactions]
    rename = { customer = "user_id", item = "product_id", event = "kind", time = "ts" }
    kinds = { add_to_cart = "cart", order = "purchase" }

``keep``, ``ignore`` and ``types`` name a column by its name in the file or its
new name. Every column a mapping names must be in the file (checked before
anything is written). Without ``keep`` every column that is not a field is
kept as an attribute; ``keep = []`` keeps none. With ``keep``, the other
non-field columns are reported as ignored unless ``ignore`` lists them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator
from pydantic import ValidationError as PydanticValidationError

from kgrec.errors import DataValidationError, KgrecError
from kgrec.loaders.constants import ENTITY_KINDS, AttrType
from kgrec.loaders.dialect import parse_delimiter
from kgrec.loaders.encoding import check_encoding


class MappingSection(BaseModel):
    """How one entity kind's columns map to kgrec fields (see the module docs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rename: dict[str, str] = Field(default_factory=dict)
    keep: list[str] | None = None
    ignore: list[str] = Field(default_factory=list)
    types: dict[str, AttrType] = Field(default_factory=dict)
    kinds: dict[str, str] = Field(default_factory=dict)
    encoding: str | None = None
    delimiter: str | None = None
    category_separator: str | None = Field(None, min_length=1)
    list_separator: str | None = Field(None, min_length=1)

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            check_encoding(value, where="encoding")
        except KgrecError as e:
            raise ValueError(str(e)) from e
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return parse_delimiter(value, where="delimiter")
        except KgrecError as e:
            raise ValueError(str(e)) from e

    def renamed(self, name: str) -> str:
        """A column's name after ``rename``."""
        return self.rename.get(name, name)

    @property
    def kept(self) -> frozenset[str] | None:
        """``keep`` by new names (None = keep every non-field column)."""
        return None if self.keep is None else frozenset(self.renamed(k) for k in self.keep)

    @property
    def ignored(self) -> frozenset[str]:
        """``ignore`` by new names."""
        return frozenset(self.renamed(k) for k in self.ignore)

    @property
    def typed(self) -> dict[str, AttrType]:
        """``types`` by new names."""
        return {self.renamed(k): v for k, v in self.types.items()}


class ColumnMapping(BaseModel):
    """A parsed mapping file: one section per entity kind (see the module docs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    categories: MappingSection = Field(default_factory=MappingSection)
    brands: MappingSection = Field(default_factory=MappingSection)
    products: MappingSection = Field(default_factory=MappingSection)
    users: MappingSection = Field(default_factory=MappingSection)
    kg: MappingSection = Field(default_factory=MappingSection)
    kg_links: MappingSection = Field(default_factory=MappingSection)
    interactions: MappingSection = Field(default_factory=MappingSection)
    _source: str = PrivateAttr("the mapping")

    @classmethod
    def load(cls, path: Path) -> ColumnMapping:
        """Read a TOML mapping file.

        Raises:
            DataValidationError: the file is not valid TOML or has unknown keys or
                values; the message names the file and the key.
        """
        try:
            with path.open("rb") as f:
                data: dict[str, Any] = tomllib.load(f)
        except OSError as e:
            raise DataValidationError(f"{path}: cannot read the mapping file ({e.strerror})") from e
        except tomllib.TOMLDecodeError as e:
            raise DataValidationError(f"{path}: not a valid TOML mapping file: {e}") from e
        try:
            mapping = cls.model_validate(data)
        except PydanticValidationError as e:
            where = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
            )
            raise DataValidationError(
                f"{path}: invalid mapping ({where}); sections: {', '.join(ENTITY_KINDS)}; keys: "
                f"{', '.join(MappingSection.model_fields)}"
            ) from e
        mapping._source = str(path)
        return mapping

    @property
    def source(self) -> str:
        """The mapping file, for messages ("the mapping" when built in code)."""
        return self._source

    def section(self, entity: str) -> MappingSection:
        """The mapping of one entity kind (empty when the file has none)."""
        value = getattr(self, entity)
        assert isinstance(value, MappingSection)
        return value
