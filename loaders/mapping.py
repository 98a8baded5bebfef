"""Column mapping files: rename a catalogue export's columns to kgrec's fields.

A mapping is a small TOML file with one optional table per entity kind::

    [products]
    rename = { sku = "id", name = "title", maker = "brand_id" }
    keep = ["color", "material"]          # extra attributes kept on the node
    types = { weight_g = "float" }       # how extra attributes are typed

    [interactions]
    rename = { customer = "user_id", item = "product_id", event = "kind", time = "ts" }
    kinds = { add_to_cart = "cart", order = "purchase" }

Without a table for an entity (or without ``keep``), every column that is not a
core field is kept as an attribute; ``keep = []`` keeps none.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from kgrec.errors import ValidationError
from loaders.constants import ENTITY_KINDS, AttrType


class _Section(BaseModel):
    """How one entity kind's columns map to kgrec fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rename: dict[str, str] = Field(default_factory=dict)
    keep: list[str] | None = None
    types: dict[str, AttrType] = Field(default_factory=dict)
    kinds: dict[str, str] = Field(default_factory=dict)


class ColumnMapping(BaseModel):
    """A parsed mapping file: one section per entity kind (see the module docs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    categories: _Section = Field(default_factory=_Section)
    brands: _Section = Field(default_factory=_Section)
    products: _Section = Field(default_factory=_Section)
    users: _Section = Field(default_factory=_Section)
    kg: _Section = Field(default_factory=_Section)
    kg_links: _Section = Field(default_factory=_Section)
    interactions: _Section = Field(default_factory=_Section)

    @classmethod
    def load(cls, path: Path) -> ColumnMapping:
        """Read a TOML mapping file.

        Raises:
            ValidationError: the file is not valid TOML or has unknown keys; the
                message names the file and the key.
        """
        try:
            with path.open("rb") as f:
                data: dict[str, Any] = tomllib.load(f)
        except OSError as e:
            raise ValidationError(f"{path}: cannot read the mapping file ({e.strerror})") from e
        except tomllib.TOMLDecodeError as e:
            raise ValidationError(f"{path}: not a valid TOML mapping file: {e}") from e
        try:
            return cls.model_validate(data)
        except PydanticValidationError as e:
            where = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
            )
            raise ValidationError(
                f"{path}: invalid mapping ({where}); sections: {', '.join(ENTITY_KINDS)}"
            ) from e

    def section(self, entity: str) -> _Section:
        """The mapping of one entity kind (empty when the file has none)."""
        value = getattr(self, entity)
        assert isinstance(value, _Section)
        return value
