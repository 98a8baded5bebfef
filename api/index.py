"""VectorIndex: inner-product search over one embedding space with faiss.

Exact (``IndexFlatIP``) up to ``settings.serving.exact_index_max_items`` rows; above that
an ANN index chosen by ``settings.serving.ann_index``: ``hnsw`` (``IndexHNSWFlat``, inner
product), ``ivf`` (``IndexIVFFlat`` with ``ivf_nlist`` lists, ``ivf_nprobe``
probed) or ``ivf_sq8`` (the same with 8-bit scalar-quantised vectors: a quarter of
the memory; hits are re-scored exactly in fp32 by the fusion step anyway). IVF
builds in seconds at 1M rows on two cores where HNSW takes minutes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, Literal, get_args

import faiss
import numpy as np

from kgrec.errors import invalid_choice
from kgrec.settings import Settings

IndexKind = Literal["exact", "hnsw", "ivf", "ivf_sq8"]
INDEX_KINDS: Final[tuple[IndexKind, ...]] = get_args(IndexKind)
_IVF_TRAIN_PER_LIST: Final = 40
_HNSW_EF_CONSTRUCTION: Final = 64
GRAPH_INDEX: Final = "product_graph.faiss"
TEXT_INDEX: Final = "product_text.faiss"
log = logging.getLogger(__name__)


class VectorIndex:
    """A faiss inner-product index over ``vectors`` [N, D] (rows keep their order).

    Args:
        vectors: float32 [N, D]; copied into the index.
        settings: index kind threshold and parameters.
        kind: force a kind; None = exact below the threshold, ``settings.serving.ann_index`` above.
    """

    def __init__(
        self, vectors: np.ndarray, settings: Settings, kind: IndexKind | None = None
    ) -> None:
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be [N, D], got shape {vectors.shape}")
        n, dim = vectors.shape
        if kind is None:
            kind = wanted_kind(n, settings)
        if kind not in INDEX_KINDS:
            raise invalid_choice("kind", kind, INDEX_KINDS)
        self.kind: IndexKind = kind
        self.dim = dim
        self.threads = settings.serving.search_threads
        data = np.ascontiguousarray(vectors, dtype=np.float32)
        self._index: Any
        if kind == "exact" or n == 0:
            self.kind = "exact"
            self._index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            hnsw = faiss.IndexHNSWFlat(dim, settings.serving.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = _HNSW_EF_CONSTRUCTION
            hnsw.hnsw.efSearch = settings.serving.hnsw_ef_search
            self._index = hnsw
        else:
            nlist = settings.serving.ivf_nlist or max(1, int(math.sqrt(n)))
            nlist = min(nlist, max(1, n // _IVF_TRAIN_PER_LIST))
            quantizer = faiss.IndexFlatIP(dim)
            index: Any
            if kind == "ivf_sq8":
                index = faiss.IndexIVFScalarQuantizer(
                    quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
                )
            else:
                index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            rng = np.random.default_rng(0)
            sample = min(n, nlist * _IVF_TRAIN_PER_LIST)
            train = data[np.sort(rng.choice(n, size=sample, replace=False))]
            index.train(train)
            index.nprobe = min(settings.serving.ivf_nprobe, nlist)
            self._quantizer = quantizer  # keep the quantizer alive as long as the index
            self._index = index
        if n:
            self._index.add(data)

    def save(self, path: Path) -> Path:
        """Write the faiss index to ``path`` (read back by :meth:`open`)."""
        faiss.write_index(self._index, str(path))
        return path

    @classmethod
    def open(cls, path: Path, vectors: np.ndarray, settings: Settings) -> VectorIndex:
        """Load the index saved at ``path`` for ``vectors`` [N, D].

        It is built from ``vectors`` (with a warning) when the file is missing or
        does not match them or the settings' index kind.
        """
        n, dim = vectors.shape
        kind = wanted_kind(n, settings)
        if not path.is_file():
            log.warning(
                "%s is missing: building the %s index now (kgrec embed stores it)", path, kind
            )
            return cls(vectors, settings)
        index: Any = faiss.read_index(str(path))
        stored = _kind_of(index)
        if index.ntotal != n or index.d != dim or (stored != kind and n > 0):
            log.warning(
                "%s holds a %s index of %d x %d, the version needs %s for %d x %d: rebuilding",
                path,
                stored,
                index.ntotal,
                index.d,
                kind,
                n,
                dim,
            )
            return cls(vectors, settings)
        out = cls.__new__(cls)
        out.kind, out.dim, out.threads, out._index = (
            stored,
            dim,
            settings.serving.search_threads,
            index,
        )
        if stored == "hnsw":
            index.hnsw.efSearch = settings.serving.hnsw_ef_search
        elif stored != "exact":
            index.nprobe = min(settings.serving.ivf_nprobe, index.nlist)
        return out

    @property
    def size(self) -> int:
        """Number of vectors N in the index."""
        return int(self._index.ntotal)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` rows by inner product.

        Args:
            queries: float32 [Q, D] (or [D]).
            k: rows per query.

        Returns:
            scores float32 [Q, k'] and rows int64 [Q, k'] with k' = min(k, N); rows of
            -1 (ANN found fewer) are dropped by the callers.
        """
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = min(k, self.size)
        if k <= 0:
            return np.zeros((q.shape[0], 0), np.float32), np.zeros((q.shape[0], 0), np.int64)
        # the OpenMP thread count is per calling thread: set it in every request thread
        faiss.omp_set_num_threads(self.threads)
        scores, rows = self._index.search(q, k)
        return scores, rows


def wanted_kind(n: int, settings: Settings) -> IndexKind:
    """The index kind ``settings`` choose for ``n`` vectors."""
    return "exact" if n <= settings.serving.exact_index_max_items else settings.serving.ann_index


def _kind_of(index: Any) -> IndexKind:
    """The :data:`IndexKind` of a faiss index read from a file."""
    if isinstance(index, faiss.IndexHNSWFlat):
        return "hnsw"
    if isinstance(index, faiss.IndexIVFScalarQuantizer):
        return "ivf_sq8"
    if isinstance(index, faiss.IndexIVFFlat):
        return "ivf"
    return "exact"


def index_writer(settings: Settings) -> Callable[[Path], None]:
    """Writes the graph and text indexes of an artifact version being written.

    A :class:`~gnn.artifacts.VersionWriter`; the service reads the indexes back at
    start-up.
    """

    def write(version: Path) -> None:
        for vectors, name in (("product_graph.npy", GRAPH_INDEX), ("product_text.npy", TEXT_INDEX)):
            data = np.load(version / vectors)
            VectorIndex(np.ascontiguousarray(data, dtype=np.float32), settings).save(version / name)

    return write
