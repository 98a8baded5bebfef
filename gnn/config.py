"""Model and training hyperparameters, frozen and saved with every checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from kgrec.errors import ConfigError, invalid_choice
from kgrec.settings import Settings

TrainMode = Literal["auto", "full", "minibatch"]
TRAIN_MODES: tuple[str, ...] = ("auto", "full", "minibatch")
SamplerBackend = Literal["auto", "torch", "pyg"]
SAMPLER_BACKENDS: tuple[str, ...] = ("auto", "torch", "pyg")


@dataclass(frozen=True)
class GNNConfig:
    """Everything that shapes the model and its training.

    The defaults are those of the ``KGREC_GNN_*`` settings (tested), so
    ``GNNConfig()`` is what ``kgrec train`` uses when nothing is configured.

    Attributes:
        hidden_dim: width of every GNN layer and of the output embeddings.
        layers: message-passing layers (= hops of neighbourhood an embedding sees).
        dropout: dropout on hidden states during training.
        lr: Adam learning rate.
        weight_decay: L2 penalty on the BPR embeddings.
        epochs: maximum training epochs.
        patience: epochs without a better validation Recall@20 before stopping.
        batch_size: positive (user, product) pairs per BPR step.
        steps_per_epoch: BPR steps per epoch (0 = one pass over the training pairs).
        mode: ``full`` batch, neighbour-sampled ``minibatch``, or ``auto`` by size.
        full_batch_max_edges: ``auto`` trains full-batch up to this many edges.
        fanout: neighbours sampled per node and edge type in mini-batch mode.
        sampler: mini-batch neighbour sampler: ``pyg`` (PyG's, needs pyg-lib or
            torch-sparse), ``torch`` (plain torch over CSR, always installed), or
            ``auto`` (``pyg`` when importable, else ``torch``).
        seed: seed of every random choice.
        cold_item_dropout: share of products whose interaction edges are hidden in
            each full-batch step (trains the content path cold products rely on).
        cold_user_dropout: the same for users (trains the attribute path a user
            without history relies on; off by default: measured, it trades warm
            and cold-item recall for cold-user recall, see docs/gnn.md).
        text_skip: append the product text (users: mean text of their products) to the
            output embeddings, so scores add a learned-weight text cosine.
        product_memory: give every product with training interactions a learned
            vector added to its input (new products get none and rely on text and
            neighbours; cold-item dropout hides it too). Users stay free of per-id
            parameters: they inherit their products' vectors by message passing.
            Off by default: measured, it buys warm recall with cold-start recall
            (docs/gnn.md).
        negative_power: negatives are drawn with probability (degree + 1) ** power
            (0 = uniform; 0.75 = popular products more often, as in word2vec).
    """

    hidden_dim: int = 64
    layers: int = 2
    dropout: float = 0.1
    lr: float = 0.01
    weight_decay: float = 1e-5
    epochs: int = 30
    patience: int = 4
    batch_size: int = 8192
    steps_per_epoch: int = 0
    mode: TrainMode = "auto"
    full_batch_max_edges: int = 5_000_000
    fanout: int = 15
    sampler: SamplerBackend = "auto"
    seed: int = 0
    cold_item_dropout: float = 0.2
    cold_user_dropout: float = 0.0
    negative_power: float = 0.0
    text_skip: bool = True
    product_memory: bool = False

    def __post_init__(self) -> None:
        if self.mode not in TRAIN_MODES:
            raise invalid_choice("mode", self.mode, TRAIN_MODES)
        if self.sampler not in SAMPLER_BACKENDS:
            raise invalid_choice("sampler", self.sampler, SAMPLER_BACKENDS)
        for name in ("cold_item_dropout", "cold_user_dropout"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {value}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_settings(cls, settings: Settings) -> GNNConfig:
        """The configuration the ``gnn_*`` settings (and ``seed``) describe."""
        return cls(
            hidden_dim=settings.gnn_hidden_dim,
            layers=settings.gnn_layers,
            lr=settings.gnn_lr,
            epochs=settings.gnn_epochs,
            patience=settings.gnn_patience,
            batch_size=settings.gnn_batch_size,
            mode=settings.gnn_mode,
            full_batch_max_edges=settings.gnn_full_batch_max_edges,
            fanout=settings.gnn_fanout,
            sampler=settings.gnn_sampler,
            seed=settings.seed,
            product_memory=settings.gnn_product_memory,
        )
