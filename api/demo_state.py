"""What ``kgrec demo`` remembers between runs, to reuse the graph and the model.

``<data_dir>/demo/state.json`` records what the demo imported (the dataset's
fingerprint and the graph's node and relationship counts right after) and what
it trained on it (the snapshot version, a fingerprint of the training settings).
A later run reuses:

* the graph, when it holds the same dataset and the same counts;
* the checkpoint and the artifact version, when the latest checkpoint is the one
  the demo recorded (same file), trained with the same training settings on the
  snapshot version the graph gives, and the latest artifact version was built
  from that snapshot version. When the graph was reused, the recorded snapshot
  version is the graph's; after an import, a fresh export tells (the version is
  a content hash).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kgrec.files import write_atomic
from kgrec.gnn.artifacts import LATEST, MANIFEST
from kgrec.gnn.config import GNNConfig
from kgrec.graph import GraphStore
from kgrec.paths import DataDir

log = logging.getLogger(__name__)

Counts = dict[str, int]


@dataclass
class DemoState:
    """The demo's record of one data directory (see the module docstring)."""

    dataset: str = ""
    fingerprint: str = ""
    nodes: Counts = field(default_factory=dict)
    relationships: Counts = field(default_factory=dict)
    snapshot_version: str | None = None
    training: str | None = None
    checkpoint: str | None = None

    @staticmethod
    def path(data_dir: Path) -> Path:
        """``<data_dir>/demo/state.json``."""
        return DataDir(data_dir).demo / "state.json"

    @classmethod
    def load(cls, data_dir: Path) -> DemoState | None:
        """The recorded state, or None when there is none (or it cannot be read)."""
        path = cls.path(data_dir)
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as e:
            log.warning("ignoring the demo's state file %s: %s", path, e)
            return None

    def save(self, data_dir: Path) -> None:
        """Write the state (atomically: a crash leaves the previous one)."""
        path = self.path(data_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(asdict(self), indent=2))

    def holds(self, dataset: str, fingerprint: str, nodes: Counts, rels: Counts) -> bool:
        """True when the graph's counts are those recorded for this dataset's import."""
        return (
            self.dataset == dataset
            and self.fingerprint == fingerprint
            and self.nodes == nodes
            and self.relationships == rels
        )

    def owns(self, nodes: Counts, rels: Counts) -> bool:
        """True when the graph holds exactly what an earlier demo imported (any dataset)."""
        return bool(self.fingerprint) and self.nodes == nodes and self.relationships == rels


def graph_counts(store: GraphStore) -> tuple[Counts, Counts]:
    """Node counts per label and relationship counts per type."""
    return store.count_nodes(), store.count_relationships()


def training_fingerprint(gnn: GNNConfig, *, ranker: bool, text_model: Path | None) -> str:
    """Fingerprint (sha256) what the training depends on besides the graph.

    That is the GNN settings (with the seed), the ranker switch and the text model
    (``KGREC_TEXT__MODEL``; None = the bundled one).
    """
    values: dict[str, Any] = {
        "gnn": gnn.to_dict(),
        "ranker": ranker,
        "seed": gnn.seed,
        "text_model": str(text_model),
    }
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


def _latest_checkpoint(data_dir: Path) -> Path:
    from kgrec.gnn.latest_model import LATEST_CHECKPOINT

    return DataDir(data_dir).checkpoints / LATEST_CHECKPOINT


def checkpoint_identity(data_dir: Path) -> str | None:
    """The latest checkpoint file's size and modification time (None: no checkpoint).

    Another ``kgrec train`` since changes it.
    """
    try:
        stat = _latest_checkpoint(data_dir).stat()
    except OSError:
        return None
    return f"{stat.st_size}-{stat.st_mtime_ns}"


def checkpoint_snapshot(data_dir: Path) -> str | None:
    """The snapshot version the latest checkpoint was trained on (None: no checkpoint)."""
    from kgrec.errors import ModelError
    from kgrec.gnn.checkpoint import Checkpoint

    path = _latest_checkpoint(data_dir)
    if not path.is_file():
        return None
    try:
        return Checkpoint.load(path).snapshot_version
    except (ModelError, OSError, RuntimeError, KeyError) as e:
        log.warning("cannot read the checkpoint %s: %s", path, e)
        return None


def artifact_snapshot(data_dir: Path) -> str | None:
    """The snapshot version the latest artifact version was built from (None: none)."""
    root = DataDir(data_dir).artifacts
    try:
        version = (root / LATEST).read_text(encoding="utf-8").strip()
        manifest = json.loads((root / version / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = manifest.get("snapshot_version")
    return value if isinstance(value, str) else None


def model_reusable(data_dir: Path, snapshot_version: str | None, training: str) -> bool:
    """Tell whether the demo's recorded training can be reused.

    True when the latest checkpoint is the one the demo recorded, trained with the
    settings ``training`` fingerprints, and it and the latest artifact version were
    built from ``snapshot_version``.
    """
    if snapshot_version is None:
        return False
    state = DemoState.load(data_dir)
    return (
        state is not None
        and state.training == training
        and state.checkpoint is not None
        and state.checkpoint == checkpoint_identity(data_dir)
        and checkpoint_snapshot(data_dir) == snapshot_version
        and artifact_snapshot(data_dir) == snapshot_version
    )
