"""PipelineOptions: what ``kgrec train``, ``kgrec embed`` and retraining run with.

Built from the settings at an entry point (:func:`kgrec.api.wiring.pipeline_options`) and
passed to :mod:`kgrec.gnn.pipeline` and :mod:`kgrec.gnn.retrain`, which never read the
settings; it also builds the inductive embedder the service and ``kgrec embed``
use. Light to import: no training code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kgrec.gnn.checkpoint import Checkpoint
from kgrec.gnn.config import GNNConfig
from kgrec.gnn.inductive import InductiveEmbedder
from kgrec.gnn.versions import VersionStore
from kgrec.paths import DataDir
from kgrec.text_encoders import EmbeddingCache, TextEncoder


@dataclass(frozen=True)
class PipelineOptions:
    """What training, embedding and retraining run with (an entry point builds it).

    Attributes:
        data_dir: the data directory (snapshots, checkpoints, artifacts, text cache).
        gnn: the model and training configuration (``KGREC_GNN__*``).
        device: the torch device training and inference run on.
        ranker: also train the staged ranker and ship it with each version.
        keep_versions: artifact versions kept on disk.
        promote_tolerance: relative validation Recall@20 drop a retrained version may
            show against the serving one and still be promoted.
        seed_fanout: the inductive embedder's fan-out of each embedded node (0 = all).
        fanout: its fan-out of each node further out (0 = all).
    """

    data_dir: Path
    gnn: GNNConfig
    device: str
    ranker: bool
    keep_versions: int
    promote_tolerance: float
    seed_fanout: int
    fanout: int

    @property
    def paths(self) -> DataDir:
        """Every path under :attr:`data_dir`."""
        return DataDir(self.data_dir)

    def versions(self) -> VersionStore:
        """The artifact versions under the data directory."""
        return VersionStore.in_data_dir(self.data_dir, self.keep_versions)

    def embedder(self, checkpoint: Checkpoint, encoder: TextEncoder) -> InductiveEmbedder:
        """The checkpoint's inductive embedder, on this device with these fan-outs."""
        return InductiveEmbedder(
            checkpoint,
            encoder,
            EmbeddingCache.in_data_dir(self.data_dir),
            device=self.device,
            seed_fanout=self.seed_fanout,
            fanout=self.fanout,
        )
