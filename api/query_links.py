"""The category a typed query names, found in the text encoder's space.

A query such as "westerns" or "soldiers and battles" asks for a part of the
catalogue the graph already knows: a category. On MovieLens-100K's genre
queries the text order alone keeps 0.94 of a top 10 on the genre and finds few
of the shopper's next products; the shopper's own order filtered to the genre
keeps 0.99 and finds five times as many (docs/ranking.md, "Measured: a query's
fusion"). :class:`CategoryLinks` holds every category's name as a text vector,
encoded once per served version (:func:`kgrec.api.state.build_state`), and links
a query to the name closest to it when that one is close enough and clearly
closer than the next (:data:`LINK_MARGIN`); :func:`kgrec.api.learned.fuse_with_query`
then fuses the shopper's order within those categories as a third list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, NamedTuple

import numpy as np

from kgrec.text_encoders import TextEncoder

if TYPE_CHECKING:
    from kgrec.api.catalogue import Catalogue

LINK_MARGIN: Final = 0.03
"""How much closer to the query the linked name must be than the next one.

Two names about as close ("scary movies" is 0.60 from both Horror and Thriller)
leave the query to the text order rather than pick one at random.
"""


class CategoryLink(NamedTuple):
    """A query's link to the categories of one name.

    Attributes:
        category_ids: the categories bearing the name (one, unless the tree
            repeats a name under several parents).
        name: the name.
        similarity: the cosine of the query's and the name's text vectors.
    """

    category_ids: tuple[str, ...]
    name: str
    similarity: float


class CategoryLinks:
    """Every distinct category name as a text vector, for :meth:`link`.

    Args:
        names: N distinct category names.
        ids: for each name, the category ids bearing it.
        vectors: float32 [N, T] L2-normalised text vectors of the names.

    Raises:
        ValueError: the three do not have one row per name.
    """

    def __init__(self, names: list[str], ids: list[tuple[str, ...]], vectors: np.ndarray) -> None:
        if not len(names) == len(ids) == len(vectors):
            raise ValueError(f"{len(names)} names, {len(ids)} id groups and {len(vectors)} vectors")
        self.names, self.ids, self.vectors = names, ids, vectors

    @classmethod
    def encode(cls, names: dict[str, str], encoder: TextEncoder) -> CategoryLinks:
        """Encode ``names`` (category id -> name) with the service's ``encoder``."""
        by_name: dict[str, list[str]] = {}
        for category_id in sorted(names):
            by_name.setdefault(names[category_id], []).append(category_id)
        distinct = sorted(by_name)
        if not distinct:
            return cls([], [], np.zeros((0, encoder.dim), np.float32))
        vectors = np.asarray(encoder.encode(distinct), np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return cls(distinct, [tuple(by_name[n]) for n in distinct], vectors)

    @classmethod
    def of_catalogue(cls, catalogue: Catalogue, encoder: TextEncoder) -> CategoryLinks:
        """The names of ``catalogue``'s categories, encoded.

        Its tree's names, and the ids of categories holding products without a
        name there; a category only products added online hold waits for the
        next version.
        """
        tree = catalogue.tree.names
        ids = {*tree, *catalogue.category_rows}
        return cls.encode({c: tree.get(c, c) for c in ids}, encoder)

    def link(self, query: np.ndarray, threshold: float) -> CategoryLink | None:
        """The categories ``query`` [T] names, or None.

        The name closest to it by cosine, when that is at least ``threshold`` and
        :data:`LINK_MARGIN` above the second closest name's.
        """
        if len(self.names) == 0:
            return None
        q = np.asarray(query, np.float32)
        sims = self.vectors @ (q / max(float(np.linalg.norm(q)), 1e-12))
        order = np.argsort(-sims, kind="stable")[:2]
        best = float(sims[order[0]])
        second = float(sims[order[1]]) if len(order) > 1 else -1.0
        if best < threshold or best - second < LINK_MARGIN:
            return None
        return CategoryLink(self.ids[order[0]], self.names[order[0]], best)
