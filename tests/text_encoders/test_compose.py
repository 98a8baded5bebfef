"""compose_product_text: the one way product text is built."""

from __future__ import annotations

import pytest

from kgrec.errors import EncoderError
from kgrec.text_encoders import compose_product_text


def test_fields_in_order_with_whitespace_collapsed() -> None:
    text = compose_product_text(
        "  Trail   shoe ",
        description="Grippy\n outsole",
        brand="Acme",
        categories=["Shoes", "Trail"],
        attrs={"color": "red", "size": 42, "waterproof": True, "weight_kg": 0.35},
    )
    assert text == (
        "Trail shoe. Brand: Acme. Category: Shoes, Trail. color: red. size: 42. "
        "waterproof: True. weight_kg: 0.35. Grippy outsole"
    )


def test_missing_and_empty_parts_are_left_out() -> None:
    assert compose_product_text("Kettle", description="", brand=None) == "Kettle"
    assert compose_product_text(None) == ""
    assert compose_product_text("Kettle", description=float("nan")) == "Kettle"  # type: ignore[arg-type]


def test_non_text_field_is_named() -> None:
    with pytest.raises(EncoderError, match="'brand' must be a string"):
        compose_product_text("Kettle", brand=7)  # type: ignore[arg-type]
    with pytest.raises(EncoderError, match=r"attrs\.tags"):
        compose_product_text("Kettle", attrs={"tags": ["a"]})
