"""ServedState: the catalogue + online-overlay row view that one request reads.

A request reads the engine's state once and works on that immutable
(:class:`~kgrec.api.catalogue.Catalogue`, :class:`~kgrec.api.overlay.Overlay`) pair to the
end. Global rows are the catalogue's ``0..P-1`` then the overlay's ``P + j``;
the lookups here (row of an id, vectors of rows, a row's fields) are the one
place that knows that layout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import torch

from kgrec.api.catalogue import Catalogue
from kgrec.api.options import EngineOptions
from kgrec.api.overlay import Overlay
from kgrec.api.query_links import CategoryLinks
from kgrec.api.ranking import Filters, RankedItem, ReasonProduct, ScoreBreakdown
from kgrec.errors import ArtifactError, ConfigError, NotFoundError, did_you_mean
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.gnn.inductive import InductiveEmbedder
from kgrec.gnn.ranking.staged import StagedRanking
from kgrec.text_encoders import TextEncoder
from kgrec.typing import PRODUCT, USER

EmbedderFactory = Callable[[ArtifactSet], InductiveEmbedder | None]


@dataclass(frozen=True)
class ServedState:
    """One artifact version's catalogue, the online overlay, the embedder, the category names.

    ``links`` holds the catalogue's category names as text vectors, for the
    category a typed query names (:mod:`kgrec.api.query_links`).
    """

    catalogue: Catalogue
    overlay: Overlay
    embedder: InductiveEmbedder | None
    links: CategoryLinks

    @property
    def size(self) -> int:
        """Rows served: the catalogue's, then the online ones."""
        return self.catalogue.size + self.overlay.size

    @cached_property
    def texts(self) -> torch.Tensor:
        """[P', T] text vectors of every served row (catalogue, then online)."""
        return torch.cat([self.catalogue.text, self.overlay.text_tensor()])

    @cached_property
    def staged(self) -> StagedRanking | None:
        """The learned ranking bound to the rows served now (None: fused weights)."""
        cat, ov = self.catalogue, self.overlay
        if cat.ranking is None:
            return None
        return cat.ranking.bind(
            torch.from_numpy(cat.user_graph),
            torch.cat([cat.graph, ov.graph_tensor()]),
            self.texts,
        )

    def same_space(self, then: ServedState) -> bool:
        """True when this state serves the artifact version and embedder ``then`` did."""
        return self.catalogue is then.catalogue and self.embedder is then.embedder

    # Lookups --------------------------------------------------------------------
    def row(self, product_id: str) -> int | None:
        """Global row of a product id (None: not served)."""
        j = self.overlay.row_of.get(product_id)
        if j is not None:
            return self.catalogue.size + j
        return self.catalogue.row_of.get(product_id)

    def require_item(self, product_id: str, field: str) -> int:
        """Global row of a product id; NotFoundError naming ``field`` when not served."""
        row = self.row(product_id)
        if row is None:
            raise NotFoundError(f"{field}: product {product_id!r} not found")
        return row

    def graph_rows(self, rows: np.ndarray) -> np.ndarray:
        """Graph vectors [n, D] of global rows (catalogue then overlay)."""
        p = self.catalogue.size
        base = rows[rows < p]
        online = rows[rows >= p] - p
        parts = [self.catalogue.graph[torch.from_numpy(base)].cpu().numpy()]
        if len(online):
            parts.append(self.overlay.graph_tensor()[torch.from_numpy(online)].cpu().numpy())
        return np.concatenate(parts) if parts else np.zeros((0, self.catalogue.graph_dim))

    def text_row(self, row: int) -> np.ndarray:
        """[T] text vector of a global row."""
        p = self.catalogue.size
        if row < p:
            return self.catalogue.text[row].cpu().numpy()
        return self.overlay.text_tensor()[row - p].cpu().numpy()

    def user_vector(self, user_id: str | None) -> np.ndarray | None:
        """[D] graph vector of a user (online first, then the version's); None: unknown."""
        if user_id is None:
            return None
        online = self.overlay.users.get(user_id)
        return online if online is not None else self.catalogue.user_vector(user_id)

    def unserved(self, label: str, ids: Sequence[str]) -> list[str]:
        """Those of ``ids`` (products or users, by graph label) neither in the version nor online.

        Raises:
            ConfigError: ``label`` is neither Product nor User.
        """
        if label == PRODUCT:
            return [i for i in ids if self.row(i) is None]
        if label == USER:
            return [
                i for i in ids if i not in self.overlay.users and i not in self.catalogue.user_row
            ]
        raise ConfigError(f"label must be {PRODUCT!r} or {USER!r}, got {label!r}")

    def ids_of(self, rows: list[int]) -> list[str]:
        """Product ids of global rows (the context item is never recommended to itself)."""
        p = self.catalogue.size
        return [
            str(self.catalogue.ids[r]) if r < p else self.overlay.items[r - p].row["id"]
            for r in rows
        ]

    def check_filters(self, filters: Filters) -> None:
        """NotFoundError when a filter names a category or brand that is not served.

        The message names the served id most like it (``horror`` -> ``Horror``).
        The products added online are read only for an id the catalogue lacks,
        not on every request.
        """
        cat = self.catalogue
        for c in filters.categories:
            if c in cat.tree.names or c in cat.category_rows or c in self._online_categories():
                continue
            hint = did_you_mean(c, self.category_ids())
            raise NotFoundError(f"category: category {c!r} not found{hint}")
        for b in filters.brands:
            if b in cat.brand_rows or b in self._online_brands():
                continue
            hint = did_you_mean(b, self.brand_ids())
            raise NotFoundError(f"brand: brand {b!r} not found{hint}")

    def category_ids(self) -> list[str]:
        """Every category id served: the tree's, the products', the online products'."""
        cat = self.catalogue
        return list(
            dict.fromkeys([*cat.tree.names, *cat.category_rows, *self._online_categories()])
        )

    def brand_ids(self) -> list[str]:
        """Every brand id served: the catalogue's products', the online products'."""
        return list(dict.fromkeys([*self.catalogue.brand_rows, *self._online_brands()]))

    def _online_categories(self) -> Iterator[str]:
        """The category ids of the products added online (repeats included)."""
        return (c for i in self.overlay.items for c in i.row.get("category_ids") or [])

    def _online_brands(self) -> Iterator[str]:
        """The brand ids of the products added online that name one (repeats included)."""
        return (b for i in self.overlay.items if (b := i.row.get("brand_id")))

    def index_info(self) -> dict[str, Any]:
        """Index kinds and sizes for /health and /metrics (``ranking_indexes``: docs/ranking.md)."""
        retrieval = self.catalogue.ranking.retrieval if self.catalogue.ranking is not None else None
        return {
            "graph_index": self.catalogue.graph_index.kind,
            "text_index": self.catalogue.text_index.kind,
            "ranking_indexes": retrieval.kinds() if retrieval is not None else {},
            "catalogue_items": self.catalogue.size,
            "online_items": self.overlay.added,
            "users": len(self.catalogue.user_row),
            "online_users": len(self.overlay.users),
        }

    def peer_count(self, user_id: str) -> int:
        """The shoppers whose choices order ``user_id``'s list while it has no history.

        Its most alike voters under peer popularity: the ones computed online for
        a shopper the version lacks or one that declared itself anew since, else
        the version's row; 0 without.
        """
        ranking = self.catalogue.ranking
        if ranking is None:
            return 0
        row = self.catalogue.user_row.get(user_id)
        return ranking.peer_count(row, self.overlay.peers_of(user_id))

    def product_ref(self, row: int) -> ReasonProduct:
        """Id and title of a global row, for reasons."""
        p = self.catalogue.size
        if row < p:
            return ReasonProduct(str(self.catalogue.ids[row]), str(self.catalogue.titles[row]))
        r = self.overlay.items[row - p].row
        return ReasonProduct(r["id"], r["title"])

    def item(self, row: int, part: np.ndarray | ScoreBreakdown) -> RankedItem:
        """The served fields of a global row with its score.

        The score is [3] graph/text/pop parts or a breakdown.
        """
        cat, p = self.catalogue, self.catalogue.size
        score = (
            part
            if isinstance(part, ScoreBreakdown)
            else ScoreBreakdown(
                graph=float(part[0]),
                text=float(part[1]),
                popularity=float(part[2]),
                total=float(part.sum()),
            )
        )
        if row < p:
            price = float(cat.price[row])
            return RankedItem(
                id=str(cat.ids[row]),
                title=str(cat.titles[row]),
                price=None if np.isnan(price) else price,
                in_stock=bool(cat.in_stock[row]),
                brand_id=cat.brand[row],
                category_ids=tuple(cat.categories[row]),
                score=score,
            )
        r = self.overlay.items[row - p].row
        return RankedItem(
            id=r["id"],
            title=r["title"],
            price=r.get("price"),
            in_stock=r.get("in_stock") is not False,
            brand_id=r.get("brand_id"),
            category_ids=tuple(r.get("category_ids") or ()),
            score=score,
        )


def build_state(
    artifacts: ArtifactSet,
    options: EngineOptions,
    encoder: TextEncoder,
    factory: EmbedderFactory | None,
) -> ServedState:
    """The state serving ``artifacts`` with an empty overlay (as ``options`` say).

    Raises:
        ArtifactError: the version's text or graph dimension does not match the
            encoder's or its checkpoint embedder's.
    """
    if artifacts.manifest.text_dim != encoder.dim:
        raise ArtifactError(
            f"artifact version {artifacts.manifest.version} has text_dim "
            f"{artifacts.manifest.text_dim} but encoder {encoder.model_id} gives "
            f"{encoder.dim}; re-run `kgrec embed` with this encoder"
        )
    device = options.device
    catalogue = Catalogue(
        artifacts,
        device,
        index=options.index,
        pop_candidates=options.candidates.pop,
        ranker=options.ranker,
        fresh_share=options.fresh_share,
        fresh_temperature=options.fresh_temperature,
    )
    embedder = factory(artifacts) if factory is not None else None
    if embedder is not None and embedder.dim != catalogue.graph_dim:
        raise ArtifactError(
            f"artifact version {artifacts.manifest.version} has graph_dim "
            f"{catalogue.graph_dim} but its checkpoint embeds in {embedder.dim} "
            "dimensions; re-run `kgrec embed`"
        )
    overlay = Overlay(catalogue.graph_dim, catalogue.text_dim, device)
    return ServedState(catalogue, overlay, embedder, CategoryLinks.of_catalogue(catalogue, encoder))
