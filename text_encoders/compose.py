"""How product text is composed from catalogue fields: one function, used everywhere."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kgrec.errors import EncoderError

SEPARATOR = ". "


def _check(field: str, value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN from pandas
        return None
    if not isinstance(value, str):
        raise EncoderError(f"product text field {field!r} must be a string, got {value!r:.80}")
    value = " ".join(value.split())
    return value or None


def compose_product_text(
    title: str | None,
    description: str | None = None,
    brand: str | None = None,
    categories: Iterable[str] = (),
    attrs: Mapping[str, Any] | None = None,
) -> str:
    """The text a product is encoded from.

    ``"<title>. Brand: <brand>. Category: <c1>, <c2>. <key>: <value>. <description>"``,
    whitespace collapsed, empty parts left out. The title and brand come first so
    that truncation at the model's maximum length cuts the description, not them.
    Attribute values may be strings, numbers or booleans; other values are errors.

    Raises:
        EncoderError: a field holds something other than text (naming the field).
    """
    parts: list[str] = []
    if (t := _check("title", title)) is not None:
        parts.append(t)
    if (b := _check("brand", brand)) is not None:
        parts.append(f"Brand: {b}")
    if isinstance(categories, str):
        categories = [categories]
    cats = [c for i, cat in enumerate(categories) if (c := _check(f"categories[{i}]", cat))]
    if cats:
        parts.append("Category: " + ", ".join(cats))
    for key, value in (attrs or {}).items():
        if isinstance(value, bool | int):
            parts.append(f"{key}: {value}")
        elif isinstance(value, float):
            if value == value:  # not NaN
                parts.append(f"{key}: {value:g}")
        elif (v := _check(f"attrs.{key}", value)) is not None:
            parts.append(f"{key}: {v}")
    if (d := _check("description", description)) is not None:
        parts.append(d)
    return SEPARATOR.join(parts)
