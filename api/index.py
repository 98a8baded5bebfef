"""VectorIndex: inner-product search over one embedding space with faiss.

Exact (``IndexFlatIP``) up to :attr:`IndexOptions.exact_max_items` rows; above that
the ANN index :attr:`IndexOptions.ann_index` names: ``hnsw`` (``IndexHNSWFlat``, inner
product), ``ivf`` (``IndexIVFFlat`` with ``nlist`` lists, ``nprobe``
probed) or ``ivf_sq8`` (the same with 8-bit scalar-quantised vectors: a quarter of
the memory; hits are re-scored exactly in fp32 by the fusion step anyway). IVF
builds in seconds at 1M rows on two cores where HNSW takes minutes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, get_args

import faiss
import numpy as np

from kgrec.errors import invalid_choice

IndexKind = Literal["exact", "hnsw", "ivf", "ivf_sq8"]
AnnKind = Literal["hnsw", "ivf", "ivf_sq8"]
INDEX_KINDS: Final[tuple[IndexKind, ...]] = get_args(IndexKind)
_IVF_TRAIN_PER_LIST: Final = 40
_HNSW_EF_CONSTRUCTION: Final = 64
GRAPH_INDEX: Final = "product_graph.faiss"
TEXT_INDEX: Final = "product_text.faiss"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexOptions:
    """Which index a served space gets and how it searches (``KGREC_SERVING__*`` settings).

    Attributes:
        exact_max_items: exact index up to this many rows; the ANN one above.
        ann_index: the ANN index kind above the threshold.
        hnsw_m: HNSW graph degree.
        hnsw_ef_search: HNSW search breadth.
        ivf_nlist: IVF lists; 0 = sqrt(rows).
        ivf_nprobe: IVF lists probed per query.
        search_threads: faiss's OpenMP threads per search.
    """

    exact_max_items: int
    ann_index: AnnKind
    hnsw_m: int
    hnsw_ef_search: int
    ivf_nlist: int
    ivf_nprobe: int
    search_threads: int

    def kind_for(self, n: int) -> IndexKind:
        """The index kind for ``n`` vectors."""
        return "exact" if n <= self.exact_max_items else self.ann_index

    def build(self, vectors: np.ndarray, kind: IndexKind | None = None) -> VectorIndex:
        """A :class:`VectorIndex` over ``vectors`` of ``kind`` (None = :meth:`kind_for`)."""
        return VectorIndex(
            vectors,
            kind=self.kind_for(len(vectors)) if kind is None else kind,
            hnsw_m=self.hnsw_m,
            ef_search=self.hnsw_ef_search,
            nlist=self.ivf_nlist,
            nprobe=self.ivf_nprobe,
            threads=self.search_threads,
        )


class VectorIndex:
    """A faiss inner-product index over ``vectors`` [N, D] (rows keep their order).

    Args:
        vectors: float32 [N, D]; copied into the index.
        kind: the index kind (``exact`` whatever the kind when N = 0).
        hnsw_m: HNSW graph degree.
        ef_search: HNSW search breadth.
        nlist: IVF lists; 0 = sqrt(N) (at most N / 40, the rows each list trains on).
        nprobe: IVF lists probed per query.
        threads: faiss's OpenMP threads per search.
    """

    def __init__(
        self,
        vectors: np.ndarray,
        *,
        kind: IndexKind,
        hnsw_m: int,
        ef_search: int,
        nlist: int,
        nprobe: int,
        threads: int,
    ) -> None:
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be [N, D], got shape {vectors.shape}")
        n, dim = vectors.shape
        if kind not in INDEX_KINDS:
            raise invalid_choice("kind", kind, INDEX_KINDS)
        self.kind: IndexKind = kind
        self.dim = dim
        self.threads = threads
        data = np.ascontiguousarray(vectors, dtype=np.float32)
        self._index: Any
        if kind == "exact" or n == 0:
            self.kind = "exact"
            self._index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            hnsw = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = _HNSW_EF_CONSTRUCTION
            hnsw.hnsw.efSearch = ef_search
            self._index = hnsw
        else:
            nlist = nlist or max(1, int(math.sqrt(n)))
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
            index.nprobe = min(nprobe, nlist)
            self._quantizer = quantizer  # keep the quantizer alive as long as the index
            self._index = index
        if n:
            self._index.add(data)

    def save(self, path: Path) -> Path:
        """Write the faiss index to ``path`` (read back by :meth:`open`)."""
        faiss.write_index(self._index, str(path))
        return path

    @classmethod
    def open(cls, path: Path, vectors: np.ndarray, options: IndexOptions) -> VectorIndex:
        """Load the index saved at ``path`` for ``vectors`` [N, D].

        It is built from ``vectors`` (with a warning) when the file is missing or
        does not match them or the index kind ``options`` choose.
        """
        n, dim = vectors.shape
        kind = options.kind_for(n)
        if not path.is_file():
            log.warning(
                "%s is missing: building the %s index now (kgrec embed stores it)", path, kind
            )
            return options.build(vectors)
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
            return options.build(vectors)
        out = cls.__new__(cls)
        out.kind, out.dim, out.threads, out._index = (
            stored,
            dim,
            options.search_threads,
            index,
        )
        if stored == "hnsw":
            index.hnsw.efSearch = options.hnsw_ef_search
        elif stored != "exact":
            index.nprobe = min(options.ivf_nprobe, index.nlist)
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


def _kind_of(index: Any) -> IndexKind:
    """The :data:`IndexKind` of a faiss index read from a file."""
    if isinstance(index, faiss.IndexHNSWFlat):
        return "hnsw"
    if isinstance(index, faiss.IndexIVFScalarQuantizer):
        return "ivf_sq8"
    if isinstance(index, faiss.IndexIVFFlat):
        return "ivf"
    return "exact"


def index_writer(options: IndexOptions) -> Callable[[Path], None]:
    """Writes the graph and text indexes of an artifact version being written.

    A :class:`~kgrec.gnn.artifacts.VersionWriter`; the service reads the indexes back at
    start-up.
    """

    def write(version: Path) -> None:
        for vectors, name in (("product_graph.npy", GRAPH_INDEX), ("product_text.npy", TEXT_INDEX)):
            data = np.load(version / vectors)
            options.build(np.ascontiguousarray(data, dtype=np.float32)).save(version / name)

    return write
