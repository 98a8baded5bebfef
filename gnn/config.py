"""Model and training hyperparameters, frozen and saved with every checkpoint.

:class:`GNNConfig` is also the ``gnn`` section of :class:`kgrec.settings.Settings`
(``KGREC_GNN__HIDDEN_DIM`` ...): its defaults and descriptions exist only here.
This module imports nothing of kgrec's but its errors, so the settings can import it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal

from pydantic import Field

from kgrec.errors import ConfigError, invalid_choice

TrainMode = Literal["auto", "full", "minibatch"]
TRAIN_MODES: tuple[str, ...] = ("auto", "full", "minibatch")
SamplerBackend = Literal["auto", "torch", "pyg"]
SAMPLER_BACKENDS: tuple[str, ...] = ("auto", "torch", "pyg")
DETERMINISM: tuple[bool | str, ...] = ("auto", True, False)


@dataclass(frozen=True)
class GNNConfig:
    """Everything that shapes the model and its training.

    ``GNNConfig()`` is what ``kgrec train`` uses when nothing is configured. Each
    field's meaning is its ``description`` (also the README's settings table);
    the bounds apply when the settings validate it.
    """

    hidden_dim: Annotated[int, Field(ge=4, le=4096, description="GNN width = embedding size.")] = 64
    layers: Annotated[
        int, Field(ge=1, le=4, description="Message-passing layers (= hops an embedding sees).")
    ] = 2
    dropout: Annotated[
        float, Field(ge=0.0, lt=1.0, description="Dropout on hidden states during training.")
    ] = 0.1
    lr: Annotated[float, Field(gt=0, description="Adam learning rate of the GNN.")] = 0.01
    weight_decay: Annotated[
        float, Field(ge=0.0, description="L2 penalty on the BPR embeddings.")
    ] = 1e-5
    epochs: Annotated[int, Field(ge=1, description="Maximum training epochs.")] = 30
    patience: Annotated[
        int, Field(ge=1, description="Epochs without better val Recall@20 before stopping.")
    ] = 4
    batch_size: Annotated[
        int, Field(ge=1, description="Positive (user, product) pairs per BPR step.")
    ] = 8192
    steps_per_epoch: Annotated[
        int, Field(ge=0, description="BPR steps per epoch; 0 = one pass over the training pairs.")
    ] = 0
    mode: Annotated[
        TrainMode,
        Field(
            description="Training mode: full batch, neighbour-sampled minibatch, or "
            "auto = full-batch up to full_batch_max_edges."
        ),
    ] = "auto"
    full_batch_max_edges: Annotated[
        int, Field(ge=0, description="auto trains full-batch up to this many graph edges.")
    ] = 5_000_000
    fanout: Annotated[
        int, Field(ge=1, description="Neighbours sampled per node and edge type (minibatch).")
    ] = 15
    sampler: Annotated[
        SamplerBackend,
        Field(
            description="Mini-batch sampler: pyg (needs pyg-lib or torch-sparse), torch "
            "(plain torch over CSR), or auto = pyg when importable."
        ),
    ] = "auto"
    seed: Annotated[int, Field(description="Seed of splits, initialisation and sampling.")] = 0
    deterministic: Annotated[
        bool | Literal["auto"],
        Field(
            description="Train with PyTorch's deterministic algorithms: the same seed gives "
            "the same model on the same machine. auto = on the CPU (about 20 % slower on 2 "
            "cores; off, two runs differed by up to 0.04 in Recall@20), off on CUDA (there "
            "it made a full-batch step 13x slower, docs/gnn.md); true / false force it."
        ),
    ] = "auto"
    cold_item_dropout: Annotated[
        float,
        Field(
            ge=0.0,
            lt=1.0,
            description="Share of products whose interaction edges are hidden in each "
            "full-batch step (trains the content path cold products rely on).",
        ),
    ] = 0.2
    cold_user_dropout: Annotated[
        float,
        Field(
            ge=0.0,
            lt=1.0,
            description="The same for users (trains the attribute path of users without "
            "history, and with degree_bias the weight of popularity for them; docs/gnn.md).",
        ),
    ] = 0.0
    negative_power: Annotated[
        float,
        Field(
            description="Negatives drawn with probability (degree + 1) ** power "
            "(0 = uniform; 0.75 = popular products more often, as in word2vec)."
        ),
    ] = 0.0
    text_skip: Annotated[
        bool,
        Field(
            description="Append the product text (users: mean text of their products) to "
            "the output embeddings, so scores add a learned-weight text cosine."
        ),
    ] = True
    product_memory: Annotated[
        bool,
        Field(
            description="A learned vector per trained product (item-based collaborative "
            "filtering; a new product has none, docs/gnn.md)."
        ),
    ] = False

    memory_output: Annotated[
        bool,
        Field(
            description="With product_memory: the memory vectors form their own output "
            "channel (users: the mean over their products) instead of entering the input."
        ),
    ] = False
    degree_bias: Annotated[
        bool,
        Field(
            description="A learned popularity column: products w log(1 + interactions), "
            "users a + b log(1 + interactions), so a user without history follows "
            "popularity more."
        ),
    ] = False

    def __post_init__(self) -> None:
        """Refuse modes, samplers and dropouts outside their sets (also when built directly).

        Raises:
            ConfigError: the value and the valid ones.
        """
        if self.mode not in TRAIN_MODES:
            raise invalid_choice("mode", self.mode, TRAIN_MODES)
        if self.sampler not in SAMPLER_BACKENDS:
            raise invalid_choice("sampler", self.sampler, SAMPLER_BACKENDS)
        if self.deterministic not in DETERMINISM:
            raise invalid_choice("deterministic", self.deterministic, ("auto", "true", "false"))
        for name in ("cold_item_dropout", "cold_user_dropout"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {value}")
        if self.memory_output and not self.product_memory:
            raise ConfigError(
                "memory_output (KGREC_GNN__MEMORY_OUTPUT) needs product_memory "
                "(KGREC_GNN__PRODUCT_MEMORY=true): there is no memory without it"
            )

    def deterministic_on(self, device: str) -> bool:
        """Whether fitting and scoring on ``device`` use deterministic algorithms.

        ``auto``: on the CPU, where they cost about a fifth, and off on CUDA, where
        the deterministic scatter-add (the backward of every gather) serialises
        the many messages into a popular product.
        """
        if self.deterministic == "auto":
            return not device.startswith("cuda")
        return bool(self.deterministic)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (saved with checkpoints)."""
        return asdict(self)
