"""DataDir: the one place that names every path under kgrec's data directory.

Layout of ``<data_dir>`` (``KGREC_DATA_DIR``, default ``.kgrec``)::

    artifacts/<version>/      served artifact versions, LATEST, PROMOTIONS.json
    checkpoints/              trained GNN checkpoints (latest.pt, ...)
    snapshots/<version>.pt    exported graph snapshots
    reports/                  evaluation reports (kgrec evaluate)
    rejects/                  rows an import refused, one CSV per file and entity
    datasets/                 extracted public datasets (unless KGREC_LOADERS__DATASET_DIR)
    demo/                     the demo's slices and state.json
    text_cache/vectors.sqlite text embeddings already computed
    models/onnx/<model>/      ONNX exports of the text model
    api/event-ids.sqlite3     the event-id ledger of POST /events
    experiments/events.jsonl  the experiment log
    privacy/                  the forget-log salt, the forget lock and its epoch
    graph/ server/ logs/      the embedded graph server (graph._paths.ServerPaths)

Only names are computed here; nothing is created or read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataDir:
    """Paths under one kgrec data directory.

    Attributes:
        root: the data directory itself.
    """

    root: Path

    @property
    def artifacts(self) -> Path:
        """``artifacts/``: artifact versions, ``LATEST`` and ``PROMOTIONS.json``."""
        return self.root / "artifacts"

    @property
    def checkpoints(self) -> Path:
        """``checkpoints/``: trained GNN checkpoints."""
        return self.root / "checkpoints"

    @property
    def snapshots(self) -> Path:
        """``snapshots/``: exported graph snapshots."""
        return self.root / "snapshots"

    def snapshot(self, version: str) -> Path:
        """``snapshots/<version>.pt``: one exported snapshot."""
        return self.snapshots / f"{version}.pt"

    @property
    def reports(self) -> Path:
        """``reports/``: evaluation reports."""
        return self.root / "reports"

    @property
    def rejects(self) -> Path:
        """``rejects/``: rows an import refused."""
        return self.root / "rejects"

    def rejects_file(self, stem: str, entity: str) -> Path:
        """``rejects/<stem>.<entity>.rejects.csv``: the refused rows of one import file."""
        return self.rejects / f"{stem}.{entity}.rejects.csv"

    @property
    def datasets(self) -> Path:
        """``datasets/``: the default home of extracted public datasets."""
        return self.root / "datasets"

    @property
    def demo(self) -> Path:
        """``demo/``: the demo's dataset slices and its state file."""
        return self.root / "demo"

    @property
    def text_cache(self) -> Path:
        """``text_cache/vectors.sqlite``: text embeddings already computed."""
        return self.root / "text_cache" / "vectors.sqlite"

    @property
    def onnx_models(self) -> Path:
        """``models/onnx/``: ONNX exports of text models, one directory per model."""
        return self.root / "models" / "onnx"

    @property
    def event_ids(self) -> Path:
        """``api/event-ids.sqlite3``: the event-id ledger of ``POST /events``."""
        return self.root / "api" / "event-ids.sqlite3"

    @property
    def written_online(self) -> Path:
        """``api/written-online.sqlite3``: the products and shoppers written online, and when."""
        return self.root / "api" / "written-online.sqlite3"

    @property
    def experiment_log(self) -> Path:
        """``experiments/events.jsonl``: the append-only experiment log."""
        return self.root / "experiments" / "events.jsonl"

    @property
    def privacy(self) -> Path:
        """``privacy/``: the forget-log salt and the lock of forgetting."""
        return self.root / "privacy"

    @property
    def graph_server(self) -> Path:
        """``graph/``: the embedded server's databases (its ``root`` setting)."""
        return self.root / "graph"

    @property
    def graph_server_state(self) -> Path:
        """``server/``: the embedded server's state, passwords, locks and log."""
        return self.root / "server"

    @property
    def graph_server_logs(self) -> Path:
        """``logs/``: the embedded server's own logs and JVM crash files."""
        return self.root / "logs"
