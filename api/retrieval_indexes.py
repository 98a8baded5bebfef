"""RetrievalIndexes: the learned ranking's linear generators read through faiss indexes.

Over a catalogue whose warm products (at least one interaction in the version)
outnumber ``exact_index_max_items``, the learned ranking's linear generators with
vectors of :data:`MIN_DIMENSIONS` or more (text-kNN; the GNN when its graph space
is that wide; ALS when tuning picked 128 factors) read their best warm products from an
ANN index of the kind the serving settings name, instead of scanning every
product's vector per request (:mod:`kgrec.gnn.ranking.retrieval`). Below that
threshold, MovieLens-100K among them, they keep the dense scan, which is what
``kgrec evaluate`` measures.

``kgrec embed`` writes the indexes into the version's ``ranking/`` directory
(:func:`write_retrieval_indexes`); the service opens them at start-up and builds
one, with a warning, when its file is missing or does not match. The warm
vectors' moments are computed at start-up (about a second for 60k x 384).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Final

import numpy as np
import torch

from kgrec.api.index import IndexOptions, VectorIndex
from kgrec.gnn.artifacts import PRODUCT_GRAPH, PRODUCT_TEXT, USER_GRAPH, VersionWriter
from kgrec.gnn.ranking.retrieval import LinearGenerator, Retrieval, WarmMoments
from kgrec.gnn.ranking.served import RANKING_DIR, load_ranking
from kgrec.gnn.ranking.staged import StagedRanking

log = logging.getLogger(__name__)
MIN_DIMENSIONS: Final = 128
"""Generators with narrower vectors keep the dense scan.

Over 100k products a 64-d generator's scan and view took about 1 ms, what its
retrieval took (an index search, the fresh products, the candidates' scores);
the 384-d text vectors' scan alone took 5 ms (``bench/stage_budget.py``).
"""
SUFFIX: Final = "_warm.faiss"
"""An index file's name in ``ranking/`` is the generator's name and this."""


class RetrievalIndexes:
    """One artifact version's retrieval indexes and moments, built or opened once.

    Args:
        directory: the version's ``ranking/`` directory (None: nothing stored, build).
        options: the index kind and threshold (the serving settings').
    """

    def __init__(self, directory: Path | None, options: IndexOptions) -> None:
        self.directory = directory
        self.options = options
        self._built: dict[str, tuple[VectorIndex, WarmMoments]] = {}
        self._lock = threading.Lock()

    def attach(self, staged: StagedRanking) -> StagedRanking:
        """``staged`` reading its linear generators through the indexes.

        ``staged`` itself below the threshold. The warm products are the rows
        ``staged.item_count`` counts interactions of; rows added online are fresh,
        scored exactly.
        """
        if not self.needed(staged.item_count):
            return staged
        warm = (staged.item_count > 0).nonzero().flatten()
        readers: dict[str, Retrieval] = {}
        for name, generator in _linear(staged).items():
            items = generator.item_vectors
            index, moments = self._index(name, items, warm)
            readers[name] = Retrieval(items, warm, index, moments)
        return staged.with_retrieval(readers)

    def kinds(self) -> dict[str, str]:
        """Generator -> the kind of index it reads its warm products through (opened so far)."""
        with self._lock:
            return {name: index.kind for name, (index, _) in self._built.items()}

    def needed(self, item_count: torch.Tensor) -> bool:
        """True when the rows of ``item_count`` [P'] hold more warm products than the threshold."""
        return int((item_count > 0).sum()) > self.options.exact_max_items

    def _index(
        self, name: str, items: torch.Tensor, warm: torch.Tensor
    ) -> tuple[VectorIndex, WarmMoments]:
        """The index and moments of generator ``name``'s ``items`` [P', D] at rows ``warm``, once.

        The warm rows' vectors are gathered only when they are built: a version's
        warm products and their vectors stay as they are across binds.
        """
        with self._lock:
            built = self._built.get(name)
            if built is None or built[0].size != len(warm):
                vectors = items[warm]
                data = np.ascontiguousarray(vectors.numpy(), dtype=np.float32)
                if self.directory is None:
                    index = self.options.build(data)
                else:
                    index = VectorIndex.open(self.directory / f"{name}{SUFFIX}", data, self.options)
                built = (index, WarmMoments.of(vectors))
                self._built[name] = built
                log.info(
                    "%s reads its %d warm products through a %s index", name, len(data), index.kind
                )
            return built


def retrieval_writer(options: IndexOptions) -> VersionWriter:
    """Writes the retrieval indexes of an artifact version being written (``kgrec embed``).

    A :class:`~kgrec.gnn.artifacts.VersionWriter` (:func:`write_retrieval_indexes`).
    """

    def write(version: Path) -> None:
        write_retrieval_indexes(version, options)

    return write


def write_retrieval_indexes(version: Path, options: IndexOptions) -> list[Path]:
    """Write the retrieval indexes of ``version``'s learned ranking (none below the threshold).

    Returns the files written.
    """
    stored = load_ranking(version)
    if stored is None:
        return []
    if not RetrievalIndexes(None, options).needed(stored.item_count):
        return []
    staged = stored.bind(
        *(torch.from_numpy(np.load(version / f)) for f in (USER_GRAPH, PRODUCT_GRAPH, PRODUCT_TEXT))
    )
    rows = (staged.item_count > 0).nonzero().flatten()
    written = []
    for name, generator in _linear(staged).items():
        vectors = np.ascontiguousarray(generator.item_vectors[rows].numpy(), dtype=np.float32)
        written.append(options.build(vectors).save(version / RANKING_DIR / f"{name}{SUFFIX}"))
    return written


def _linear(staged: StagedRanking) -> dict[str, LinearGenerator]:
    """The generators of ``staged`` read through an index (:data:`MIN_DIMENSIONS`).

    Not the no-history order's generator, whose dense row orders shoppers without history.
    """
    return {
        name: g
        for name, g in staged.generators.items()
        if isinstance(g, LinearGenerator)
        and name != staged.config.without_history
        and g.item_vectors.shape[1] >= MIN_DIMENSIONS
    }
