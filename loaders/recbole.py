"""RecBole atomic files (``.inter .item .user .kg .link``) as import sources.

Atomic files are tab-separated with typed headers (``user_id:token``,
``class:token_seq``, ``rating:float``). The adapter maps them to kgrec's entity
kinds with a :class:`~kgrec.loaders.presets.RecbolePreset`:

- ``.item`` -> products (title + year + genres as text), genres -> categories;
- ``.user`` -> users with their attributes; ``.inter`` -> interactions;
- ``.link`` + ``.kg``: a triple whose head (or tail) is an item's entity becomes a
  ``HAS_ENTITY {relation}`` link of that product; the first tail of the preset's
  brand relation becomes the product's brand; other triples relate entities.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from kgrec.errors import DatasetError
from kgrec.loaders.constants import (
    CATEGORIES,
    INTERACTIONS,
    KG,
    KG_LINKS,
    PRODUCTS,
    ROW_NUMBER,
    TAIL_KIND,
    USERS,
    EntityKind,
)
from kgrec.loaders.presets import RecbolePreset
from kgrec.loaders.readers import ChunkReader
from kgrec.loaders.source import Source
from kgrec.typing import (
    BRAND_ID,
    CATEGORY_IDS,
    DESCRIPTION,
    ENTITY_ID,
    HEAD,
    ID,
    KIND,
    NAME,
    PRODUCT_ID,
    RELATION,
    TAIL,
    TITLE,
    TS,
    USER_ID,
    VALUE,
)

_SUFFIXES = (".inter", ".item", ".user", ".kg", ".link")
_YEAR = "year"


def _joined(value: object) -> object:
    return " ".join(str(v) for v in value) if isinstance(value, list) else value


class RecboleDataset:
    """A directory of RecBole atomic files, read through a preset.

    Args:
        directory: holds ``<preset name>.inter`` (and ``.item .user .kg .link``
            where the dataset has them).
        preset: the field mapping.
        chunk_rows: rows read per chunk.
        limit: read at most this many interactions (``.inter`` rows; None = all).
    """

    def __init__(
        self, directory: Path, preset: RecbolePreset, chunk_rows: int, limit: int | None = None
    ) -> None:
        self.directory = directory
        self.preset = preset
        self.chunk_rows = chunk_rows
        self.limit = limit
        if not self.path(".inter").is_file():
            raise DatasetError(
                f"{self.path('.inter')}: no such file; a RecBole dataset directory holds "
                f"{', '.join(preset.name + s for s in _SUFFIXES)}"
            )

    def path(self, suffix: str) -> Path:
        """The atomic file with ``suffix`` (``.inter`` ...)."""
        return self.directory / f"{self.preset.name}{suffix}"

    def _read(self, suffix: str) -> Iterator[pd.DataFrame]:
        """Chunks of one atomic file: typed header names stripped, ``token_seq`` split."""
        reader = ChunkReader(self.path(suffix), self.chunk_rows, sep="\t", delimited=True)
        left = self.limit if suffix == ".inter" else None
        for chunk in reader.chunks():
            if left is not None:
                if left <= 0:
                    return
                chunk = chunk.iloc[:left]
                left -= len(chunk)
            renamed: dict[str, str] = {}
            for column in chunk.columns:
                if column == ROW_NUMBER:
                    continue
                name, _, kind = str(column).partition(":")
                renamed[column] = name
                if kind.endswith("_seq"):
                    chunk[column] = chunk[column].map(str.split, na_action="ignore")
            yield chunk.rename(columns=renamed)

    def _frame(self, suffix: str) -> pd.DataFrame:
        parts = list(self._read(suffix)) if self.path(suffix).is_file() else []
        return pd.concat(parts) if parts else pd.DataFrame()

    def sources(self) -> list[Source]:
        """Import sources of every atomic file present."""
        p = self.preset
        out: list[Source] = []
        if p.genre_field and self.path(".item").is_file():
            out.append(self._source(CATEGORIES, ".item", self._categories, [ID, NAME]))
        if self.path(".item").is_file():
            out.append(self._source(PRODUCTS, ".item", self._products, [ID, TITLE]))
        if self.path(".user").is_file():
            out.append(self._source(USERS, ".user", self._users, [ID]))
        out.append(
            self._source(
                INTERACTIONS, ".inter", self._interactions, [USER_ID, PRODUCT_ID, KIND, TS]
            )
        )
        if self.path(".kg").is_file() and self.path(".link").is_file():
            out.append(self._source(KG_LINKS, ".kg", self._links, [PRODUCT_ID, ENTITY_ID]))
            out.append(self._source(KG, ".kg", self._triples, [HEAD, RELATION, TAIL]))
        return out

    def _source(
        self,
        entity: EntityKind,
        suffix: str,
        chunks: object,
        header: list[str],
    ) -> Source:
        assert callable(chunks)
        return Source(entity, str(self.path(suffix)), chunks, lambda: list(header), derived=True)

    # Item side ---------------------------------------------------------------------
    def _categories(self) -> Iterator[pd.DataFrame]:
        genre = self.preset.genre_field
        assert genre is not None
        seen: dict[str, int] = {}
        for chunk in self._read(".item"):
            for row, genres in zip(chunk[ROW_NUMBER], chunk[genre], strict=True):
                for g in genres if isinstance(genres, list) else []:
                    seen.setdefault(g, int(row))
        if seen:
            frame = pd.DataFrame({ID: list(seen), NAME: list(seen)})
            frame[ROW_NUMBER] = list(seen.values())
            yield frame

    def _brands_of_items(self) -> dict[str, str]:
        """Map each item id to the first tail of the brand relation of its entity."""
        relation = self.preset.brand_relation
        if relation is None or not self.path(".kg").is_file():
            return {}
        item_of = self._items_of_entities()
        brands: dict[str, str] = {}
        p = self.preset
        for chunk in self._read(".kg"):
            hits = chunk[chunk[p.relation_field] == relation]
            for head, tail in zip(hits[p.head_field], hits[p.tail_field], strict=True):
                item = item_of.get(head)
                if item is not None:
                    brands.setdefault(item, tail)
        return brands

    def _products(self) -> Iterator[pd.DataFrame]:
        p = self.preset
        brands = self._brands_of_items()
        for chunk in self._read(".item"):
            out = pd.DataFrame(index=chunk.index)
            out[ID] = chunk[p.item_field]
            title = chunk[p.title_field] if p.title_field else chunk[p.item_field]
            title = title.map(_joined, na_action="ignore")  # a token_seq title is words
            out[TITLE] = title
            text = title.astype(str)
            if p.year_field:
                year = pd.to_numeric(chunk[p.year_field], errors="coerce")
                out[_YEAR] = year.astype("Int64")
                text = text + np.where(
                    year.notna(), " (" + chunk[p.year_field].astype(str) + ")", ""
                )
            if p.genre_field:
                genres = chunk[p.genre_field]
                out[CATEGORY_IDS] = genres
                joined = genres.map(lambda g: ", ".join(g) if isinstance(g, list) else "")
                text = text + np.where(joined != "", ": " + joined, "")
            out[DESCRIPTION] = text
            out[BRAND_ID] = out[ID].map(brands)
            out[ROW_NUMBER] = chunk[ROW_NUMBER]
            yield out

    # User side ---------------------------------------------------------------------
    def _users(self) -> Iterator[pd.DataFrame]:
        p = self.preset
        for chunk in self._read(".user"):
            out = pd.DataFrame(index=chunk.index)
            out[ID] = chunk[p.user_field]
            for name, kind in p.user_attr_types.items():
                if name not in chunk:
                    continue
                if kind in ("int", "float"):
                    values = pd.to_numeric(chunk[name], errors="coerce")
                    out[name] = values.astype("Int64") if kind == "int" else values
                else:
                    out[name] = chunk[name]
            out[ROW_NUMBER] = chunk[ROW_NUMBER]
            yield out

    def _interactions(self) -> Iterator[pd.DataFrame]:
        p = self.preset
        for chunk in self._read(".inter"):
            out = pd.DataFrame(index=chunk.index)
            out[USER_ID] = chunk[p.user_field]
            out[PRODUCT_ID] = chunk[p.item_field]
            out[KIND] = p.kind
            out[TS] = chunk[p.timestamp_field]
            if p.rating_field:
                out[VALUE] = chunk[p.rating_field]
            out[ROW_NUMBER] = chunk[ROW_NUMBER]
            yield out

    # Knowledge graph -----------------------------------------------------------------
    def _items_of_entities(self) -> dict[str, str]:
        p = self.preset
        link = self._frame(".link")
        if not len(link):
            return {}
        return dict(zip(link[p.entity_field], link[p.item_field], strict=True))

    def _kg_chunks(self) -> Iterator[tuple[pd.DataFrame, pd.Series, pd.Series]]:
        """KG chunks (dropped relations removed) with the item of each head and tail."""
        p = self.preset
        item_of = self._items_of_entities()
        for chunk in self._read(".kg"):
            chunk = chunk[~chunk[p.relation_field].isin(p.drop_relations)]
            yield chunk, chunk[p.head_field].map(item_of), chunk[p.tail_field].map(item_of)

    def _links(self) -> Iterator[pd.DataFrame]:
        p = self.preset
        brands = self._brands_of_items()
        for chunk, head_item, tail_item in self._kg_chunks():
            from_head = head_item.notna()
            from_tail = ~from_head & tail_item.notna()
            out = pd.DataFrame(index=chunk.index)
            out[PRODUCT_ID] = head_item.where(from_head, tail_item)
            out[ENTITY_ID] = chunk[p.tail_field].where(from_head, chunk[p.head_field])
            out[RELATION] = chunk[p.relation_field]
            out[KIND] = out[RELATION].map(p.entity_kind)
            out[ROW_NUMBER] = chunk[ROW_NUMBER]
            is_brand = (out[RELATION] == p.brand_relation) & (
                out[PRODUCT_ID].map(brands) == out[ENTITY_ID]
            )
            yield out[(from_head | from_tail) & ~is_brand]

    def _triples(self) -> Iterator[pd.DataFrame]:
        p = self.preset
        for chunk, head_item, tail_item in self._kg_chunks():
            keep = head_item.isna() & tail_item.isna()
            out = pd.DataFrame(index=chunk.index)
            out[HEAD] = chunk[p.head_field]
            out[RELATION] = chunk[p.relation_field]
            out[TAIL] = chunk[p.tail_field]
            out[TAIL_KIND] = out[RELATION].map(p.entity_kind)
            out[ROW_NUMBER] = chunk[ROW_NUMBER]
            yield out[keep]
