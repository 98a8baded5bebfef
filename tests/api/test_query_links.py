"""A typed query linked to the category it names (kgrec.api.query_links)."""

from __future__ import annotations

import numpy as np
import pytest

from kgrec.api.query_links import LINK_MARGIN, CategoryLinks
from kgrec.text_encoders import TextEncoder


@pytest.fixture(scope="module")
def links(encoder: TextEncoder) -> CategoryLinks:
    names = {"cat-w": "Western", "cat-h": "Horror", "cat-c": "Comedy", "cat-s": "Sci-Fi"}
    names |= {"cat-w2": "Western"}  # a name the tree repeats links to both
    return CategoryLinks.encode(names, encoder)


def test_a_query_links_to_the_category_its_words_name(
    links: CategoryLinks, encoder: TextEncoder
) -> None:
    for query, category in [("westerns", "cat-w"), ("funny movies", "cat-c")]:
        link = links.link(encoder.encode([query])[0], 0.5)
        assert link is not None and link.category_ids[0] == category, (query, link)
        assert link.name == {"cat-w": "Western", "cat-c": "Comedy"}[category]
        assert 0.5 <= link.similarity <= 1.0
    western = links.link(encoder.encode(["westerns"])[0], 0.5)
    assert western is not None and western.category_ids == ("cat-w", "cat-w2")
    # a plot names no category: the text order alone answers it
    assert links.link(encoder.encode(["a lighthouse keeper's diary"])[0], 0.5) is None


def test_the_threshold_and_the_margin_decide() -> None:
    vectors = np.eye(3, dtype=np.float32)
    links = CategoryLinks(["A", "B", "C"], [("a",), ("b",), ("c",)], vectors)
    query = np.array([0.8, 0.6, 0.0], np.float32)  # cosine 0.8 with a, 0.6 with b
    assert links.link(query, 0.8) is not None and links.link(query, 0.81) is None
    tied = np.array([1.0, 1.0 - LINK_MARGIN / 2, 0.0], np.float32)
    assert links.link(tied, 0.1) is None  # a and b about as close: neither is named
    apart = np.array([1.0, 1.0 - 2 * LINK_MARGIN, 0.0], np.float32)
    picked = links.link(apart, 0.1)
    assert picked is not None and picked.category_ids == ("a",)


def test_without_categories_nothing_links(encoder: TextEncoder) -> None:
    empty = CategoryLinks.encode({}, encoder)
    assert empty.link(encoder.encode(["westerns"])[0], 0.0) is None
    with pytest.raises(ValueError, match="2 names, 1 id groups and 2 vectors"):
        CategoryLinks(["A", "B"], [("a",)], np.eye(2, dtype=np.float32))
