"""Checkpoint: weights + config + snapshot version + encoder id, checked on load."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gnn.config import GNNConfig
from gnn.model import EdgeType, HeteroGNN
from kgrec.errors import ModelError


@dataclass
class Checkpoint:
    """A trained model and what it was trained on."""

    model: HeteroGNN
    snapshot_version: str
    encoder_id: str
    metrics: dict[str, Any]

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save(
            {
                "config": self.model.config.to_dict(),
                "in_dims": self.model.in_dims,
                "edge_types": self.model.edge_types,
                "state_dict": self.model.state_dict(),
                "snapshot_version": self.snapshot_version,
                "encoder_id": self.encoder_id,
                "metrics": self.metrics,
            },
            tmp,
        )
        tmp.replace(path)
        return path

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        encoder_id: str | None = None,
        snapshot_version: str | None = None,
        map_location: str = "cpu",
    ) -> Checkpoint:
        """Load and check a checkpoint.

        Args:
            encoder_id: when given, the text encoder in use; it must be the one the
                model was trained with (features would mean something else).
            snapshot_version: when given, the snapshot in use must be the training one.

        Raises:
            ModelError: missing file, or a mismatched encoder or snapshot.
        """
        if not path.exists():
            raise ModelError(f"no checkpoint at {path}; run `kgrec train`")
        blob = torch.load(path, map_location=map_location, weights_only=False)
        if encoder_id is not None and blob["encoder_id"] != encoder_id:
            raise ModelError(
                f"checkpoint {path} was trained with text encoder {blob['encoder_id']!r}, but "
                f"{encoder_id!r} is configured (KGREC_TEXT_MODEL); retrain with `kgrec train` "
                "or configure the original model"
            )
        if snapshot_version is not None and blob["snapshot_version"] != snapshot_version:
            raise ModelError(
                f"checkpoint {path} was trained on snapshot {blob['snapshot_version']}, not "
                f"{snapshot_version}; retrain with `kgrec train`"
            )
        config = GNNConfig(**blob["config"])
        edge_types: list[EdgeType] = [tuple(e) for e in blob["edge_types"]]
        model = HeteroGNN(config, blob["in_dims"], edge_types)
        model.load_state_dict(blob["state_dict"])
        model.eval()
        return cls(model, blob["snapshot_version"], blob["encoder_id"], blob["metrics"])
