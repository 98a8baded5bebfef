"""Versioned serving artifacts: what ``kgrec embed`` writes and the API loads.

Layout of one version, ``<data_dir>/artifacts/<version>/``::

    manifest.json          ArtifactManifest (versions, dims, counts, fusion defaults)
    products.parquet       one row per product, row i = embedding row i:
                           id, title, price, in_stock, brand_id, category_ids (list[str])
    users.parquet          one row per user, row j = embedding row j: id
    categories.parquet     id, name, parent_id (the category tree, for descendant filters)
    product_graph.npy      float32 [P, D_graph]  GNN output embeddings of products
    user_graph.npy         float32 [U, D_graph]  GNN output embeddings of users
    product_text.npy       float32 [P, D_text]   L2-normalised text-encoder vectors
    popularity.npy         float32 [P]           popularity prior in [0, 1]
    checkpoint.pt          the GNN checkpoint (weights + config), for inductive inference
    checksums.sha256       SHA-256 of every file above and the writers' (sha256sum format;
                           :mod:`kgrec.gnn.version_checksums`), checked at every load

``<data_dir>/artifacts/LATEST`` names the newest complete version. A version is
written into a temporary directory and renamed into place, then LATEST is
replaced atomically, so a reader never sees half a version.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from kgrec.errors import ArtifactError
from kgrec.files import sync_directory, sync_tree, write_atomic
from kgrec.gnn.replace_journal import finish_replacing
from kgrec.gnn.version_checksums import verify_checksums, write_checksums

LATEST: Final = "LATEST"
MANIFEST: Final = "manifest.json"
PRODUCTS: Final = "products.parquet"
USERS: Final = "users.parquet"
CATEGORIES: Final = "categories.parquet"
PRODUCT_GRAPH: Final = "product_graph.npy"
USER_GRAPH: Final = "user_graph.npy"
PRODUCT_TEXT: Final = "product_text.npy"
POPULARITY: Final = "popularity.npy"
CHECKPOINT: Final = "checkpoint.pt"
WRITING_PREFIX: Final = ".writing-"
"""The temporary directory of a version being written (renamed into place when done)."""
VersionWriter = Callable[[Path], None]
"""Writes extra files into a version directory before it is published."""
PRODUCT_COLUMNS: Final = ("id", "title", "price", "in_stock", "brand_id", "category_ids")


@dataclass(frozen=True)
class ArtifactManifest:
    """Identity and shape of one artifact version.

    ``snapshot_exported_at``: unix seconds when its snapshot's export began reading
    the graph (0: unknown, a version built before kgrec recorded it). A product or
    shopper written online since may be served stale by the version alone: the
    restore serves them as the graph holds them (:mod:`kgrec.api.written_online`).
    """

    version: str
    snapshot_version: str
    encoder_id: str
    graph_dim: int
    text_dim: int
    num_products: int
    num_users: int
    created_at: float = field(default_factory=time.time)
    model: dict[str, Any] = field(default_factory=dict)
    snapshot_exported_at: float = 0.0

    @classmethod
    def from_json(cls, text: str) -> ArtifactManifest:
        """The manifest in ``text`` (manifest.json); keys a later kgrec added are skipped.

        Raises:
            ValueError: not JSON. TypeError: a required key is missing.
        """
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in json.loads(text).items() if k in known})


@dataclass
class ArtifactSet:
    """One loaded artifact version (arrays in memory, row-aligned with the id tables).

    Shapes: ``product_graph`` [P, D_graph], ``user_graph`` [U, D_graph],
    ``product_text`` [P, D_text], ``popularity`` [P].
    """

    manifest: ArtifactManifest
    products: pd.DataFrame
    users: pd.DataFrame
    categories: pd.DataFrame
    product_graph: np.ndarray
    user_graph: np.ndarray
    product_text: np.ndarray
    popularity: np.ndarray
    path: Path | None = None

    def validate(self) -> None:
        """Check that arrays and tables agree in length and width."""
        m = self.manifest
        checks = {
            "products": (len(self.products), m.num_products),
            "product_graph rows": (self.product_graph.shape[0], m.num_products),
            "product_text rows": (self.product_text.shape[0], m.num_products),
            "popularity": (self.popularity.shape[0], m.num_products),
            "users": (len(self.users), m.num_users),
            "user_graph rows": (self.user_graph.shape[0], m.num_users),
            "product_graph width": (self.product_graph.shape[1], m.graph_dim),
            "user_graph width": (self.user_graph.shape[1], m.graph_dim),
            "product_text width": (self.product_text.shape[1], m.text_dim),
        }
        bad = [f"{k}: {got} != {want}" for k, (got, want) in checks.items() if got != want]
        missing = [c for c in PRODUCT_COLUMNS if c not in self.products.columns]
        if missing:
            bad.append(f"products.parquet lacks columns {missing}")
        if bad:
            where = self.path or "artifact set"
            raise ArtifactError(f"{where} is inconsistent: " + "; ".join(bad))

    def save(
        self,
        root: Path,
        checkpoint: Path | None = None,
        writers: Sequence[VersionWriter] = (),
        *,
        promote: bool = True,
    ) -> Path:
        """Write this set as version ``manifest.version`` under ``root``.

        With ``promote``, LATEST then points at it (:class:`kgrec.gnn.versions.VersionStore`
        records promotions too).
        Each of ``writers`` adds its files to the version directory before it is
        published (the ranker's tables, the serving indexes).
        """
        self.validate()
        root.mkdir(parents=True, exist_ok=True)
        final = root / self.manifest.version
        if final.exists():
            raise ArtifactError(f"artifact version {final} already exists; versions are immutable")
        tmp = Path(tempfile.mkdtemp(dir=root, prefix=WRITING_PREFIX))
        try:
            (tmp / MANIFEST).write_text(json.dumps(asdict(self.manifest), indent=2))
            self.products.to_parquet(tmp / PRODUCTS, index=False)
            self.users.to_parquet(tmp / USERS, index=False)
            self.categories.to_parquet(tmp / CATEGORIES, index=False)
            np.save(tmp / PRODUCT_GRAPH, self.product_graph.astype(np.float32, copy=False))
            np.save(tmp / USER_GRAPH, self.user_graph.astype(np.float32, copy=False))
            np.save(tmp / PRODUCT_TEXT, self.product_text.astype(np.float32, copy=False))
            np.save(tmp / POPULARITY, self.popularity.astype(np.float32, copy=False))
            if checkpoint is not None:
                shutil.copy2(checkpoint, tmp / CHECKPOINT)
            for write in writers:
                write(tmp)
            write_checksums(tmp)
            sync_tree(tmp)  # whole on disk before LATEST can name it
            tmp.rename(final)
            sync_directory(root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if promote:
            write_atomic(root / LATEST, self.manifest.version)
        self.path = final
        return final

    @classmethod
    def load(cls, path: Path, *, mmap: bool = False) -> ArtifactSet:
        """Load one version directory; ``mmap`` maps the arrays instead of reading them.

        A forget stopped while it replaced the version's files is finished first
        (:func:`~kgrec.gnn.replace_journal.finish_replacing`), then the files are
        checked against its checksums (every file, the ranking's included;
        :func:`~kgrec.gnn.version_checksums.verify_checksums`).

        Raises:
            ArtifactError: not a version, damaged (the files named) or inconsistent.
        """
        if not (path / MANIFEST).exists():
            raise ArtifactError(
                f"{path} is not an artifact version (no {MANIFEST}); run `kgrec embed`"
            )
        finish_replacing(path)  # a forget stopped part-way (kgrec.gnn.replace_journal)
        verify_checksums(path)
        mode: Literal["r"] | None = "r" if mmap else None
        try:
            manifest = ArtifactManifest.from_json((path / MANIFEST).read_text())
            artifacts = cls(
                manifest=manifest,
                products=pd.read_parquet(path / PRODUCTS),
                users=pd.read_parquet(path / USERS),
                categories=pd.read_parquet(path / CATEGORIES),
                product_graph=np.load(path / PRODUCT_GRAPH, mmap_mode=mode),
                user_graph=np.load(path / USER_GRAPH, mmap_mode=mode),
                product_text=np.load(path / PRODUCT_TEXT, mmap_mode=mode),
                popularity=np.load(path / POPULARITY, mmap_mode=mode),
                path=path,
            )
        except (OSError, ValueError, TypeError) as e:
            raise ArtifactError(f"cannot read artifact version {path}: {e}") from e
        artifacts.validate()
        return artifacts

    @staticmethod
    def latest_path(root: Path) -> Path:
        """The directory LATEST names under ``root``."""
        pointer = root / LATEST
        if not pointer.exists():
            raise ArtifactError(f"no artifacts under {root} (no {LATEST} file); run `kgrec embed`")
        return root / pointer.read_text().strip()

    @property
    def checkpoint_path(self) -> Path | None:
        """The GNN checkpoint saved with this version, if any."""
        if self.path is None or not (self.path / CHECKPOINT).exists():
            return None
        return self.path / CHECKPOINT
