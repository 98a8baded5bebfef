"""Warm start: train a new model from a previous checkpoint's weights when they fit.

:func:`warm_start_state` says whether the previous model's weights fit the model the
trainer will build on the current graph (same encoder, node types and feature
widths, edge types in the same order, same width, depth and output layout), and
why not when they do not; ``Trainer.fit(..., initial_state=...)`` loads them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from kgrec.gnn.checkpoint import Checkpoint
from kgrec.gnn.config import GNNConfig
from kgrec.gnn.model import MEMORY_INIT_STD, MEMORY_WEIGHT, HeteroGNN

log = logging.getLogger(__name__)
SHAPING_FIELDS: Final = (
    "hidden_dim",
    "layers",
    "text_skip",
    "product_memory",
    "memory_output",
    "degree_bias",
)
"""The :class:`~kgrec.gnn.config.GNNConfig` fields that shape the weights."""


@dataclass(frozen=True)
class WarmStart:
    """The weights to start from (None: a fresh initialisation) and why."""

    state: dict[str, Tensor] | None
    reason: str


def model_inputs(graph: HeteroData) -> tuple[dict[str, int], list[tuple[str, str, str]]]:
    """Read the inputs of the model the trainer builds on ``graph``.

    Returns:
        (input width per node type (0 = a node type without features), edge types).
    """
    x = graph.x_dict
    in_dims = {t: int(x[t].shape[1]) if t in x else 0 for t in graph.num_nodes_dict}
    return in_dims, list(graph.edge_index_dict)


def warm_start_state(
    previous: Checkpoint,
    graph: HeteroData,
    config: GNNConfig,
    encoder_id: str,
    memory_ids: Sequence[str] | None = None,
) -> WarmStart:
    """The previous model's weights when they fit the model to be trained on ``graph``.

    Args:
        previous: the checkpoint of the version retrained from.
        graph: the training graph (:func:`kgrec.gnn.inference.graph_inputs`).
        config: the configuration the new model is trained with.
        encoder_id: the text encoder of the current snapshot's features.
        memory_ids: with product memory, the products owning the new model's memory
            rows 1..M in order (:func:`kgrec.gnn.trainer.memory_index_of`): a product the
            previous model had a row for keeps it, a new one starts as the trainer
            starts it. None with product memory on: no warm start.

    Returns:
        :class:`WarmStart`: the state and the reason, in words, for either outcome.
    """
    old = previous.model
    if previous.encoder_id != encoder_id:
        return WarmStart(
            None,
            f"the previous model read text encoder {previous.encoder_id!r} features, "
            f"the graph now has {encoder_id!r} ones",
        )
    changed = [
        f"{f} {getattr(old.config, f)} -> {getattr(config, f)}"
        for f in SHAPING_FIELDS
        if getattr(old.config, f) != getattr(config, f)
    ]
    if changed:
        return WarmStart(None, f"the model's shape changed ({', '.join(changed)})")
    if config.product_memory and memory_ids is None:
        return WarmStart(None, "product memory is on: its rows belong to the trained products")
    in_dims, edge_types = model_inputs(graph)
    if in_dims != old.in_dims:
        return WarmStart(None, f"node types or feature widths changed ({old.in_dims} -> {in_dims})")
    if edge_types != old.edge_types:
        added = sorted(set(edge_types) - set(old.edge_types))
        removed = sorted(set(old.edge_types) - set(edge_types))
        what = f"added {added}, removed {removed}" if added or removed else "reordered"
        return WarmStart(None, f"the edge types changed ({what})")
    state = {k: v.detach().clone() for k, v in old.state_dict().items()}
    reason = "same encoder, node and edge types, feature widths and shape"
    rows = list(memory_ids or []) if config.product_memory else []
    if MEMORY_WEIGHT in state and config.product_memory:
        state[MEMORY_WEIGHT], carried = _carried_memory(
            state[MEMORY_WEIGHT], previous.memory_ids, rows, config.seed
        )
        reason += f"; memory rows carried over for {carried:,} of {len(rows):,} products"
    try:  # the last word: anything the checks above missed
        HeteroGNN(config, in_dims, edge_types, len(rows)).load_state_dict(state)
    except RuntimeError as e:  # "Error(s) in loading state_dict for HeteroGNN:", then why
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        why = lines[1] if len(lines) > 1 and lines[0].endswith(":") else lines[0]
        return WarmStart(None, f"the weights do not fit: {why}")
    return WarmStart(state, reason)


def _carried_memory(
    weight: Tensor, old_ids: Sequence[str], new_ids: Sequence[str], seed: int
) -> tuple[Tensor, int]:
    """The memory table of ``new_ids`` [M' + 1, H]: old rows by product id, new ones drawn.

    Returns:
        (the table, how many rows came from ``weight``).
    """
    out = torch.empty((len(new_ids) + 1, weight.shape[1]), dtype=weight.dtype)
    out.normal_(0.0, MEMORY_INIT_STD, generator=torch.Generator().manual_seed(seed))
    out[0] = 0.0
    old_row = {p: i + 1 for i, p in enumerate(old_ids)}
    pairs = [(j + 1, old_row[p]) for j, p in enumerate(new_ids) if p in old_row]
    if pairs:
        new, old = torch.tensor(pairs).T
        out[new] = weight[old]
    return out, len(pairs)
