"""VectorIndex: inner-product search over one embedding space with faiss.

Exact (``IndexFlatIP``) up to ``settings.exact_index_max_items`` rows; above that
an ANN index chosen by ``settings.ann_index``: ``hnsw`` (``IndexHNSWFlat``, inner
product), ``ivf`` (``IndexIVFFlat`` with ``ivf_nlist`` lists, ``ivf_nprobe``
probed) or ``ivf_sq8`` (the same with 8-bit scalar-quantised vectors: a quarter of
the memory; hits are re-scored exactly in fp32 by the fusion step anyway). IVF
builds in seconds at 1M rows on two cores where HNSW takes minutes.
"""

from __future__ import annotations

import math
from typing import Any, Final, Literal, get_args

import faiss
import numpy as np

from kgrec.errors import invalid_choice
from kgrec.settings import Settings

IndexKind = Literal["exact", "hnsw", "ivf", "ivf_sq8"]
INDEX_KINDS: Final[tuple[IndexKind, ...]] = get_args(IndexKind)
_IVF_TRAIN_PER_LIST: Final = 40
_HNSW_EF_CONSTRUCTION: Final = 64


class VectorIndex:
    """A faiss inner-product index over ``vectors`` [N, D] (rows keep their order).

    Args:
        vectors: float32 [N, D]; copied into the index.
        settings: index kind threshold and parameters.
        kind: force a kind; None = exact below the threshold, ``settings.ann_index`` above.
    """

    def __init__(
        self, vectors: np.ndarray, settings: Settings, kind: IndexKind | None = None
    ) -> None:
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be [N, D], got shape {vectors.shape}")
        n, dim = vectors.shape
        if kind is None:
            kind = "exact" if n <= settings.exact_index_max_items else settings.ann_index
        if kind not in INDEX_KINDS:
            raise invalid_choice("kind", kind, INDEX_KINDS)
        self.kind: IndexKind = kind
        self.dim = dim
        self.threads = settings.search_threads
        data = np.ascontiguousarray(vectors, dtype=np.float32)
        self._index: Any
        if kind == "exact" or n == 0:
            self.kind = "exact"
            self._index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            hnsw = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = _HNSW_EF_CONSTRUCTION
            hnsw.hnsw.efSearch = settings.hnsw_ef_search
            self._index = hnsw
        else:
            nlist = settings.ivf_nlist or max(1, int(math.sqrt(n)))
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
            index.nprobe = min(settings.ivf_nprobe, nlist)
            self._quantizer = quantizer  # keep the quantizer alive as long as the index
            self._index = index
        if n:
            self._index.add(data)

    @property
    def size(self) -> int:
        """Number of vectors N in the index."""
        return int(self._index.ntotal)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` rows by inner product.

        Args:
            queries: float32 [Q, D] (or [D]).
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
