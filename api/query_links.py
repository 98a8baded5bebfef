"""The category a typed query names, found in the text encoder's space.

A query such as "scary movies" or "westerns" asks for a part of the catalogue
the graph already knows: a category. The text order alone finds products whose
descriptions read like the query, which on MovieLens-100K's genre queries keeps
only about 0.93 of a top 10 on the genre; the shopper's own order among the
category's products keeps 0.99 and finds twice the shopper's next products
(docs/ranking.md, "Measured: a query's fusion"). :class:`CategoryLinks` encodes
every category's name once per served version and links a query to the one
closest to it, when that one is close enough and clearly closer than the next
(:data:`LINK_MARGIN`); :func:`kgrec.api.learned.fuse_with_query` then fuses the
shopper's order within that category as a third list.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, NamedTuple

import numpy as np

from kgrec.text_encoders import TextEncoder

if TYPE_CHECKING:
    from kgrec.api.catalogue import Catalogue

LINK_MARGIN: Final = 0.03
"""How much closer to the query the linked category must be than the next one.

Two categories about as close ("scary movies" is 0.60 from both Horror and
Thriller) leave the query to the text order rather than pick one at random.
"""


class CategoryLink(NamedTuple):
    """A query's link to a category.

    Attributes:
        category_id: the category's id.
        name: its name.
        similarity: the cosine of the query's and the name's text vectors.
    """

    category_id: str
    name: str
    similarity: float


class CategoryLinks:
    """Every category's name as a text vector, for :meth:`link`.

    Args:
        ids: C category ids.
        names: their C names.
        vectors: float32 [C, T] L2-normalised text vectors of the names.

    Raises:
        ValueError: the three do not have one row per category.
    """

    def __init__(self, ids: list[str], names: list[str], vectors: np.ndarray) -> None:
        if not len(ids) == len(names) == len(vectors):
            raise ValueError(
                f"{len(ids)} category ids, {len(names)} names and {len(vectors)} vectors"
            )
        self.ids, self.names, self.vectors = ids, names, vectors

    @classmethod
    def encode(cls, names: Mapping[str, str], encoder: TextEncoder) -> CategoryLinks:
        """Encode the ``names`` (category id -> name) with the service's ``encoder``."""
        ids = sorted(names)
        texts = [names[i] for i in ids]
        vectors = np.asarray(encoder.encode(texts), np.float32) if ids else np.zeros((0, 1))
        norms = np.linalg.norm(vectors, axis=1, keepdims=True) if ids else np.ones((0, 1))
        return cls(ids, texts, (vectors / np.maximum(norms, 1e-12)).astype(np.float32))

    def link(self, query: np.ndarray, threshold: float) -> CategoryLink | None:
        """The category ``query`` [T] names, or None.

        The closest category by cosine, when it is at least ``threshold`` and
        :data:`LINK_MARGIN` closer than the second closest.
        """
        if len(self.ids) == 0:
            return None
        q = np.asarray(query, np.float32)
        sims = self.vectors @ (q / max(float(np.linalg.norm(q)), 1e-12))
        order = np.argsort(-sims, kind="stable")[:2]
        best = float(sims[order[0]])
        second = float(sims[order[1]]) if len(order) > 1 else -1.0
        if best < threshold or best - second < LINK_MARGIN:
            return None
        return CategoryLink(self.ids[order[0]], self.names[order[0]], best)


class QueryLinker:
    """Links typed queries to the served version's categories (its names encoded once).

    Args:
        encoder: the service's text encoder (the queries' space).
        w_link: the linked list's weight in the fusion; 0 turns linking off.
        threshold: the cosine a query must reach with a category's name.
    """

    def __init__(self, encoder: TextEncoder, w_link: float, threshold: float) -> None:
        self.encoder, self.w_link, self.threshold = encoder, w_link, threshold
        self._lock = threading.Lock()
        self._links: dict[str, CategoryLinks] = {}  # version -> its categories, encoded

    def ready(self, version: str) -> bool:
        """True when linking a query for ``version`` needs no encoder pass."""
        with self._lock:
            return self.w_link <= 0 or version in self._links

    def link(self, catalogue: Catalogue, query: np.ndarray) -> CategoryLink | None:
        """The category of ``catalogue`` that ``query`` [T] names (None: none, or off).

        The version's category names (the tree's, and the ids of categories
        holding products without a name there) are encoded on its first query;
        categories only products added online hold wait for the next version.
        """
        if self.w_link <= 0:
            return None
        with self._lock:
            links = self._links.get(catalogue.version)
        if links is None:
            tree = catalogue.tree.names
            ids = {*tree, *catalogue.category_rows}
            links = CategoryLinks.encode({c: tree.get(c, c) for c in ids}, self.encoder)
            with self._lock:
                self._links = {catalogue.version: links}  # earlier versions are done with
        return links.link(query, self.threshold)
