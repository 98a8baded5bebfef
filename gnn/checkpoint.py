"""Checkpoint: weights + config + snapshot version + encoder id, checked on load."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import torch
from torch import Tensor

from kgrec.gnn.config import GNNConfig
from kgrec.gnn.inference import embed_all, graph_inputs
from kgrec.gnn.model import HeteroGNN
from kgrec.gnn.schema import PRODUCT, EdgeType
from kgrec.gnn.torch_files import load_checked

if TYPE_CHECKING:  # types only: loading a checkpoint loads neither exporter nor trainer
    from kgrec.gnn.snapshot import Snapshot
    from kgrec.gnn.trainer import TrainResult
from kgrec.errors import ModelError
from kgrec.files import save_atomic


@dataclass
class Checkpoint:
    """A trained model and what it was trained on.

    Attributes:
        memory_ids: product ids owning the model's memory rows 1..M, in row order
            (products are matched by id, so any later snapshot or live subgraph
            finds its products' rows; a product not listed gets none).
    """

    model: HeteroGNN
    snapshot_version: str
    encoder_id: str
    metrics: dict[str, Any]
    memory_ids: list[str] = field(default_factory=list)

    @classmethod
    def from_training(
        cls, result: TrainResult, snapshot: Snapshot, metrics: dict[str, Any]
    ) -> Checkpoint:
        """The checkpoint of a model trained on ``snapshot`` (moved to the CPU)."""
        ids = snapshot.ids[PRODUCT]
        return cls(
            result.model.cpu(),
            snapshot.version,
            snapshot.encoder_id,
            metrics,
            [ids[i] for i in result.memory_index.tolist()],
        )

    def embed_snapshot(
        self, snapshot: Snapshot, interactions: Tensor, device: str = "cpu"
    ) -> dict[str, Tensor]:
        """Run full inference over ``snapshot`` on ``device``.

        ``interactions`` [2, E] (user, product) are the interaction edges messages
        pass over.

        Returns:
            ``{"product": [P, D], "user": [U, D]}`` on ``device``.
        """
        graph = graph_inputs(snapshot, interactions, self.memory_rows(snapshot.ids[PRODUCT]))
        return embed_all(self.model.to(device), graph.to(device))

    @cached_property
    def _memory_row(self) -> dict[str, int]:
        """Product id -> memory row (built once: serving asks on every inductive call)."""
        return {p: i + 1 for i, p in enumerate(self.memory_ids)}

    def memory_rows(self, product_ids: Sequence[str]) -> Tensor:
        """int64 [len(product_ids)]: each product's memory row (0 = none)."""
        row = self._memory_row
        return torch.tensor([row.get(p, 0) for p in product_ids], dtype=torch.long)

    def save(self, path: Path) -> Path:
        """Save the model, its inputs and provenance to ``path`` atomically; return ``path``."""
        blob = {
            "config": self.model.config.to_dict(),
            "in_dims": self.model.in_dims,
            "edge_types": self.model.edge_types,
            "state_dict": self.model.state_dict(),
            "snapshot_version": self.snapshot_version,
            "encoder_id": self.encoder_id,
            "metrics": self.metrics,
            "memory_ids": self.memory_ids,
        }
        return save_atomic(path, lambda tmp: torch.save(blob, tmp))

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
            path: the checkpoint file (``*.pt``).
            encoder_id: when given, the text encoder in use; it must be the one the
                model was trained with (features would mean something else).
            snapshot_version: when given, the snapshot in use must be the training one.
            map_location: torch device the tensors are loaded onto.

        Raises:
            ModelError: missing, damaged or cut-short file, or a mismatched encoder or
                snapshot.
        """
        if not path.exists():
            raise ModelError(f"no checkpoint at {path}; run `kgrec train`")
        try:
            blob = load_checked(path, map_location)
        except Exception as e:  # a damaged file fails in many ways
            raise _damaged(path, e) from e
        if not isinstance(blob, dict) or not blob.keys() >= _KEYS:
            raise _damaged(path, ValueError("it holds no kgrec checkpoint"))
        if encoder_id is not None and blob["encoder_id"] != encoder_id:
            raise ModelError(
                f"checkpoint {path} was trained with text encoder {blob['encoder_id']!r}, but "
                f"{encoder_id!r} is configured (KGREC_TEXT__MODEL); retrain with `kgrec train` "
                "or configure the original model"
            )
        if snapshot_version is not None and blob["snapshot_version"] != snapshot_version:
            raise ModelError(
                f"checkpoint {path} was trained on snapshot {blob['snapshot_version']}, not "
                f"{snapshot_version}; retrain with `kgrec train`"
            )
        try:
            config = GNNConfig(**blob["config"])
            edge_types: list[EdgeType] = [tuple(e) for e in blob["edge_types"]]
            memory_ids: list[str] = list(blob.get("memory_ids", []))
            model = HeteroGNN(config, blob["in_dims"], edge_types, len(memory_ids))
            model.load_state_dict(blob["state_dict"])
        except Exception as e:
            raise _damaged(path, e) from e
        model.eval()
        return cls(model, blob["snapshot_version"], blob["encoder_id"], blob["metrics"], memory_ids)


_KEYS: Final = frozenset(
    {"config", "in_dims", "edge_types", "state_dict", "snapshot_version", "encoder_id", "metrics"}
)
"""What a checkpoint file holds (:meth:`Checkpoint.save`)."""


def _damaged(path: Path, error: Exception) -> ModelError:
    return ModelError(
        f"cannot read the checkpoint {path}: {type(error).__name__}: {error}; the file is "
        "damaged or cut short (a copy stopped part-way?): train again (`kgrec train`), or "
        "serve another artifact version (`kgrec artifacts rollback` / `promote`)"
    )
