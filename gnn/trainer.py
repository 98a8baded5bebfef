"""BPR training of the HeteroGNN, full-batch or on sampled mini-batches."""

from __future__ import annotations

import copy
import logging
import math
import resource
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import HeteroData
from torch_geometric.utils import degree
from tqdm import tqdm

from kgrec.gnn.config import GNNConfig
from kgrec.gnn.early_stopping import EarlyStopping
from kgrec.gnn.inference import embed_all as embed_all
from kgrec.gnn.inference import graph_inputs as graph_inputs
from kgrec.gnn.inference import graph_memory_rows, with_memory_rows
from kgrec.gnn.losses import bpr_loss
from kgrec.gnn.metrics import mean_metrics, rank_metrics
from kgrec.gnn.model import HeteroGNN
from kgrec.gnn.pyg_sampler import build_sampler
from kgrec.gnn.schema import INTERACTED, PRODUCT, USER, EdgeType, reverse

log = logging.getLogger(__name__)


def memory_index_of(train_pairs: Tensor, num_products: int, config: GNNConfig) -> Tensor:
    """int64 [M]: the products owning memory rows 1..M (those with training pairs), in order.

    Empty when ``config.product_memory`` is off.
    """
    if not config.product_memory:
        return torch.zeros(0, dtype=torch.long)
    return torch.nonzero(torch.bincount(train_pairs[1], minlength=num_products) > 0).flatten()


def memory_rows_of(memory_index: Tensor, num_products: int) -> Tensor:
    """int64 [num_products]: row i + 1 for product ``memory_index[i]``, 0 for the others."""
    rows = torch.zeros(num_products, dtype=torch.long)
    rows[memory_index] = torch.arange(1, len(memory_index) + 1)
    return rows


def targets_matrix(pairs: Tensor, users: Tensor, num_products: int) -> Tensor:
    """Mark which products each of ``users`` has among ``pairs`` [2, E].

    Returns:
        bool [len(users), P]: True where (users[i], product) is among ``pairs``.
    """
    row_of = torch.full((int(pairs[0].max()) + 1 if pairs.numel() else 1,), -1, dtype=torch.long)
    row_of[users[users < len(row_of)]] = torch.arange(len(users))[users < len(row_of)]
    out = torch.zeros((len(users), num_products), dtype=torch.bool)
    if pairs.numel():
        rows = row_of[pairs[0]]
        keep = rows >= 0
        out[rows[keep], pairs[1][keep]] = True
    return out


@dataclass
class TrainResult:
    """A trained model; ``memory_index`` = int64 [M] product indices owning memory rows 1..M."""

    model: HeteroGNN
    mode: str
    memory_index: Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))
    history: list[dict[str, float]] = field(default_factory=list)
    best: dict[str, float] = field(default_factory=dict)
    epoch_seconds: list[float] = field(default_factory=list)
    total_seconds: float = 0.0
    peak_rss_mb: float = 0.0

    def summary(self) -> str:
        """One line on epochs, time, peak memory and the best validation figures."""
        mean_epoch = sum(self.epoch_seconds) / max(1, len(self.epoch_seconds))
        best = ", ".join(f"{k} {v:.4f}" for k, v in self.best.items())
        return (
            f"trained {len(self.epoch_seconds)} epochs ({self.mode}) in {self.total_seconds:.1f} s "
            f"({mean_epoch:.2f} s/epoch, peak RSS {self.peak_rss_mb:,.0f} MB); best val: {best}"
        )


@contextmanager
def deterministic_algorithms(on: bool) -> Iterator[None]:
    """PyTorch's deterministic algorithms while the block runs (restored after).

    On CPU, two trainings of the same seed otherwise differ run to run (the
    accumulating index ops sum in thread order), and the early stopping turns the
    small differences into different models. ``warn_only``: an op without a
    deterministic version warns instead of failing (CUDA's, without
    ``CUBLAS_WORKSPACE_CONFIG``).
    """
    if not on:
        yield
        return
    before = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before, warn_only=warn_only)


class Trainer:
    """Train a :class:`HeteroGNN` for user -> product link prediction with BPR.

    Args:
        config: hyperparameters (``mode`` chooses full-batch or sampled mini-batches).
        device: torch device.
        show_progress: tqdm bar with loss and validation Recall@20.
    """

    def __init__(self, config: GNNConfig, device: str = "cpu", show_progress: bool = True):
        self.config = config
        self.device = device
        self.show_progress = show_progress

    def resolve_mode(self, graph: HeteroData) -> str:
        """The training mode for ``graph``: ``auto`` becomes ``full`` or ``minibatch`` by size."""
        if self.config.mode != "auto":
            return self.config.mode
        return "full" if graph.num_edges <= self.config.full_batch_max_edges else "minibatch"

    def _drop_interactions(
        self, graph: HeteroData, gen: torch.Generator
    ) -> tuple[dict[EdgeType, Tensor], Tensor | None]:
        """Hide the interaction edges of a random share of products and users (DropoutNet).

        The shares are ``cold_item_dropout`` and ``cold_user_dropout``. The hidden
        products and users still take part in the BPR pairs, so the model learns to
        score products from their content alone and users from their declared
        attributes alone, as it must for a cold product or a new shopper. Hidden
        products lose their memory row for the step too.

        Returns:
            (edge types -> [2, E'] edges, memory rows [N_product] or None).
        """
        shares = {PRODUCT: self.config.cold_item_dropout, USER: self.config.cold_user_dropout}
        out: dict[EdgeType, Tensor] = dict(graph.edge_index_dict)
        memory = graph_memory_rows(graph)
        for node_type, p in shares.items():
            if p <= 0:
                continue
            dropped = (torch.rand(graph[node_type].num_nodes, generator=gen) < p).to(self.device)
            user_side = 0 if node_type == USER else 1
            for et, side in ((INTERACTED, user_side), (reverse(INTERACTED), 1 - user_side)):
                if et in out:
                    out[et] = out[et][:, ~dropped[out[et][side]]]
            if node_type == PRODUCT and memory is not None:
                memory = memory.masked_fill(dropped, 0)
        return out, memory

    def fit(
        self,
        graph: HeteroData,
        train_pairs: Tensor,
        val_pairs: Tensor | None = None,
        *,
        initial_state: Mapping[str, Tensor] | None = None,
    ) -> TrainResult:
        """Train on positive pairs [2, E] (user, product); early-stop on validation Recall@20.

        ``graph`` (the snapshot's, from :func:`graph_inputs`) must hold the training
        interactions only (no held-out edge); it is not modified. ``initial_state``
        (a warm start, :func:`kgrec.gnn.warm_start.warm_start_state`) is loaded into the
        new model before the first step; None = a fresh, seeded initialisation.
        """
        with deterministic_algorithms(self.config.deterministic_on(self.device)):
            return self._fit(graph, train_pairs, val_pairs, initial_state)

    def _fit(
        self,
        graph: HeteroData,
        train_pairs: Tensor,
        val_pairs: Tensor | None,
        initial_state: Mapping[str, Tensor] | None,
    ) -> TrainResult:
        cfg = self.config
        torch.manual_seed(cfg.seed)
        gen = torch.Generator().manual_seed(cfg.seed)
        x, num_nodes = graph.x_dict, graph.num_nodes_dict
        in_dims = {t: int(x[t].shape[1]) if t in x else 0 for t in num_nodes}
        n_products = num_nodes[PRODUCT]
        degrees = degree(train_pairs[1], n_products, dtype=torch.float64)
        memory_index = memory_index_of(train_pairs, n_products, cfg)
        memory_rows = memory_rows_of(memory_index, n_products) if cfg.product_memory else None
        graph = with_memory_rows(graph, memory_rows)
        model = HeteroGNN(cfg, in_dims, list(graph.edge_index_dict), len(memory_index))
        if initial_state is not None:
            model.load_state_dict(initial_state)
            log.info("warm start: the model starts from the previous version's weights")
        model = model.to(self.device)
        optimiser = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        mode = self.resolve_mode(graph)
        dev_graph = copy.copy(graph).to(self.device)
        sampler = (
            build_sampler(
                graph.edge_index_dict, num_nodes, cfg.fanout, cfg.layers, gen, cfg.sampler
            )
            if mode == "minibatch"
            else None
        )
        n = int(train_pairs.shape[1])
        steps = cfg.steps_per_epoch or max(1, math.ceil(n / cfg.batch_size))
        val_users = torch.unique(val_pairs[0]) if val_pairs is not None else None
        val_eval = None
        if val_pairs is not None and val_users is not None:
            val_eval = (
                val_users,
                targets_matrix(val_pairs, val_users, n_products),
                targets_matrix(train_pairs, val_users, n_products),
            )
        neg_weights = (degrees + 1.0) ** cfg.negative_power  # 0 = uniform negatives
        result = TrainResult(model=model, mode=mode, memory_index=memory_index)
        stopper: EarlyStopping[dict[str, Any]] = EarlyStopping(cfg.patience)
        start = time.perf_counter()
        bar = tqdm(range(cfg.epochs), desc=f"train ({mode})", disable=not self.show_progress)
        for epoch in bar:
            t0 = time.perf_counter()
            model.train()
            total = 0.0
            for _ in range(steps):
                idx = torch.randint(0, n, (min(cfg.batch_size, n),), generator=gen)
                users, pos = train_pairs[0, idx], train_pairs[1, idx]
                neg = torch.multinomial(neg_weights, len(idx), replacement=True, generator=gen)
                if sampler is None:
                    edges, memory = self._drop_interactions(dev_graph, gen)
                    emb = model(dev_graph.x_dict, edges, num_nodes, memory)
                    eu, ep, en = emb[USER][users], emb[PRODUCT][pos], emb[PRODUCT][neg]
                else:
                    sub = sampler.sample({USER: users, PRODUCT: torch.cat([pos, neg])})
                    x_sub = {t: v[sub.nodes[t]].to(self.device) for t, v in x.items()}
                    ei = {e: v.to(self.device) for e, v in sub.edge_index.items()}
                    memory = (
                        None
                        if memory_rows is None
                        else memory_rows[sub.nodes[PRODUCT]].to(self.device)
                    )
                    emb = model(x_sub, ei, {t: len(v) for t, v in sub.nodes.items()}, memory)
                    eu = emb[USER][sub.local(USER, users)]
                    ep = emb[PRODUCT][sub.local(PRODUCT, pos)]
                    en = emb[PRODUCT][sub.local(PRODUCT, neg)]
                loss = bpr_loss(eu, ep, en, cfg.weight_decay)
                optimiser.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                optimiser.step()
                total += loss.item()
            row = {"epoch": float(epoch), "loss": total / steps}
            if val_eval is not None:
                emb = embed_all(model, dev_graph)
                users_v, target, exclude = val_eval
                scores = emb[USER][users_v.to(self.device)] @ emb[PRODUCT].T
                metrics = mean_metrics(rank_metrics(scores.cpu(), target, exclude, ks=(20,)))
                row.update(metrics)
                # NDCG breaks ties: on a catalogue of <= 20 products recall@20 is always 1
                score = (metrics["recall@20"], metrics["ndcg@20"])
                if stopper.step(score, lambda: copy.deepcopy(model.state_dict())):
                    result.best = {"recall@20": score[0], "ndcg@20": score[1]}
            result.epoch_seconds.append(time.perf_counter() - t0)
            result.history.append(row)
            bar.set_postfix(loss=f"{row['loss']:.4f}", val_r20=f"{row.get('recall@20', 0):.4f}")
            if stopper.should_stop:
                break
        if stopper.best_state is not None:
            model.load_state_dict(stopper.best_state)
        model.eval()
        result.total_seconds = time.perf_counter() - start
        result.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return result
