"""Seeded synthetic catalogues for benchmarks: ``kgrec generate``.

Zipf-skewed product popularity, a three-level category tree, brands, product text
from templates, users with attributes and timestamped interactions of every kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from kgrec.loaders.constants import BRANDS, CATEGORIES, INTERACTIONS, PRODUCTS, USERS
from kgrec.typing import (
    BRAND_ID,
    CATEGORY_IDS,
    CURRENCY,
    DESCRIPTION,
    ID,
    IN_STOCK,
    INTERACTION_KINDS,
    KIND,
    NAME,
    PARENT_ID,
    PRICE,
    PRODUCT_ID,
    TITLE,
    TS,
    USER_ID,
    VALUE,
)

FileFormat = Literal["csv", "jsonl", "parquet"]
_ADJECTIVES = ("light", "classic", "pro", "compact", "premium", "eco", "urban", "trail", "smart")
_NOUNS = ("shoe", "jacket", "speaker", "kettle", "backpack", "lamp", "watch", "mug", "chair")
_MATERIALS = ("cotton", "steel", "bamboo", "leather", "aluminium", "recycled plastic", "wool")
_COUNTRIES = ("DE", "FR", "NL", "ES", "IT", "PL", "SE")
_KIND_SHARE = (0.6, 0.2, 0.1, 0.07, 0.03)  # view, click, cart, purchase, rate
_T0 = 1_700_000_000


@dataclass(frozen=True)
class CatalogueGenerator:
    """Sizes and seed of a synthetic catalogue.

    Attributes:
        products, users, interactions, brands: how many of each.
        categories: leaf categories (under 4 roots and their 2-level subtrees).
        zipf_a: Zipf exponent of product popularity (> 1; larger = more skewed).
        seed: the random seed (equal seeds give equal files).
    """

    products: int = 1_000
    users: int = 500
    interactions: int = 5_000
    brands: int = 50
    categories: int = 40
    zipf_a: float = 1.3
    seed: int = 0

    def frames(self) -> dict[str, pd.DataFrame]:
        """The catalogue as one DataFrame per entity kind."""
        rng = np.random.default_rng(self.seed)
        roots = [f"c{r}" for r in range(4)]
        mids = [f"c{r}-{m}" for r in range(4) for m in range(3)]
        leaves = [f"{mids[i % len(mids)]}-{i}" for i in range(max(1, self.categories))]
        categories = pd.DataFrame(
            {
                ID: roots + mids + leaves,
                NAME: [f"Category {c[1:]}" for c in roots + mids + leaves],
                PARENT_ID: [None] * len(roots)
                + [m.rsplit("-", 1)[0] for m in mids]
                + [leaf.rsplit("-", 1)[0] for leaf in leaves],
            }
        )
        brands = pd.DataFrame(
            {ID: [f"b{i}" for i in range(self.brands)],
             NAME: [f"Brand {i}" for i in range(self.brands)]}
        )  # fmt: skip
        n = self.products
        adjective = rng.choice(np.array(_ADJECTIVES), n)
        noun = rng.choice(np.array(_NOUNS), n)
        material = rng.choice(np.array(_MATERIALS), n)
        ids = np.char.add("p", np.arange(n).astype(str))
        brand_of = rng.integers(0, max(1, self.brands), n)
        products = pd.DataFrame(
            {
                ID: ids,
                TITLE: np.char.add(np.char.add(adjective, " "), noun),
                DESCRIPTION: np.char.add(
                    np.char.add(np.char.add("A ", adjective), " "), noun
                ).astype(object)
                + " made of "
                + material.astype(object)
                + ".",
                PRICE: np.round(rng.lognormal(3.5, 0.8, n), 2),
                CURRENCY: "EUR",
                IN_STOCK: rng.random(n) < 0.9,
                BRAND_ID: np.char.add("b", brand_of.astype(str)),
                CATEGORY_IDS: np.array(leaves, dtype=object)[rng.integers(0, len(leaves), n)],
                "material": material,
            }
        )
        users = pd.DataFrame(
            {
                ID: np.char.add("u", np.arange(self.users).astype(str)),
                "country": rng.choice(np.array(_COUNTRIES), self.users),
                "age": rng.integers(18, 80, self.users),
            }
        )
        m = self.interactions
        popularity = (rng.zipf(self.zipf_a, m) - 1) % max(1, n)
        kinds = rng.choice(np.array(INTERACTION_KINDS), m, p=_KIND_SHARE)
        values = np.where(kinds == "rate", rng.integers(1, 6, m).astype(float), np.nan)
        interactions = pd.DataFrame(
            {
                USER_ID: np.char.add("u", rng.integers(0, max(1, self.users), m).astype(str)),
                PRODUCT_ID: np.char.add("p", popularity.astype(str)),
                KIND: kinds,
                TS: _T0 + np.arange(m) * 7,
                VALUE: values,
            }
        )
        return {
            CATEGORIES: categories,
            BRANDS: brands,
            PRODUCTS: products,
            USERS: users,
            INTERACTIONS: interactions,
        }

    def write(self, directory: Path, fmt: FileFormat = "csv") -> dict[str, Path]:
        """Write one file per entity kind (``products.csv`` ...); returns the paths."""
        directory.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        for entity, frame in self.frames().items():
            path = directory / f"{entity}.{fmt}"
            if fmt == "csv":
                frame.to_csv(path, index=False)
            elif fmt == "jsonl":
                frame.to_json(path, orient="records", lines=True)
            else:
                frame.to_parquet(path, index=False)
            paths[entity] = path
        return paths
