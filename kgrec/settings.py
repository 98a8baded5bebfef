"""The one settings object of kgrec.

Built once at an entry point (CLI command, API lifespan, test fixture) and passed
down; nothing reads the environment anywhere else. Every field is set by an
environment variable ``KGREC_<FIELD>`` (or a ``.env`` file); unknown ``KGREC_*``
keys are rejected so a typo never goes unnoticed. Units are in the names.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kgrec.errors import ConfigError
from kgrec.pseudonym import salt_problem

ENV_PREFIX = "KGREC_"
DeviceName = Literal["auto", "cpu", "cuda"]


class Settings(BaseSettings):
    """All of kgrec's configuration. See the README's settings table."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        extra="forbid",
        frozen=True,
        validate_default=True,
    )

    # Where everything kgrec writes lives --------------------------------------
    data_dir: Path = Field(Path(".kgrec"), description="Root of all data kgrec writes.")

    # Graph server -------------------------------------------------------------
    neo4j_uri: str | None = Field(
        None, description="Bolt URI of a Neo4j 5 server; unset = embedded ArcadeDB server."
    )
    neo4j_user: str = Field("neo4j", description="User name on a real Neo4j.")
    neo4j_password: SecretStr | None = Field(None, description="Password of that user.")
    neo4j_database: str = Field("neo4j", description="Database name on a real Neo4j.")
    neo4j_reader_user: str | None = Field(
        None,
        description="Neo4j user with the built-in `reader` role for `kgrec cypher`; "
        "unset = the main user in read access mode.",
    )
    neo4j_reader_password: SecretStr | None = Field(
        None, description="Password of the `reader` role user."
    )
    connect_retries: int = Field(5, ge=0, description="Extra connection attempts.")
    connect_backoff_s: float = Field(0.5, gt=0, description="First retry delay, doubled each try.")
    query_timeout_s: float = Field(120.0, gt=0, description="Per-transaction timeout.")
    write_batch_size: int = Field(1000, ge=1, le=100_000, description="Rows per UNWIND batch.")
    read_page_size: int = Field(5000, ge=1, le=1_000_000, description="Rows per read page.")

    # Embedded server ------------------------------------------------------------
    embedded_database: str = Field(
        "kgrec",
        pattern=r"^[A-Za-z][A-Za-z0-9_]*$",
        description="Database name on the embedded server.",
    )
    embedded_heap_mb: int = Field(1024, ge=256, description="JVM heap of the embedded server.")
    embedded_bolt_port: int = Field(
        0, ge=0, le=65535, description="Bolt port of the embedded server; 0 = pick a free one."
    )
    embedded_http_port: int = Field(
        0, ge=0, le=65535, description="HTTP port of the embedded server; 0 = pick a free one."
    )
    embedded_start_timeout_s: float = Field(
        90.0, gt=0, description="How long to wait for the embedded server to answer."
    )
    embedded_min_free_mb: int = Field(
        256, ge=0, description="Free disk space the embedded server needs to start."
    )

    # Serving ----------------------------------------------------------------------
    w_graph: float = Field(1.0, description="Fusion weight of <h_user, h_item> (graph space).")
    w_text: float = Field(1.0, description="Fusion weight of <e_query, t_item> (text space).")
    w_pop: float = Field(0.2, description="Fusion weight of the popularity prior pop(item).")
    ranker: bool = Field(
        True,
        description="Serve the learned staged ranking when the artifact version holds one "
        "(false = the fused default weights above).",
    )
    fresh_share: float = Field(
        0.1,
        ge=0.0,
        le=0.5,
        description="Share of answer positions kept for products without interactions "
        "(0 = no fresh slots).",
    )
    w_query: float = Field(
        2.0,
        ge=0.0,
        le=100.0,
        description="Weight of the query's (or context product's) text ranking against the "
        "personal ranking in reciprocal-rank fusion.",
    )
    experiments_file: Path | None = Field(
        None,
        description="TOML file of A/B experiments (arms overriding ranker, w_query, "
        "fresh_share, generators; docs/experiments.md); unset = no experiments.",
    )
    api_key: SecretStr | None = Field(
        None, description="Key write endpoints require in X-API-Key; unset = writes refused."
    )
    api_read_requires_key: bool = Field(False, description="Read endpoints require the key too.")
    forget_log_salt: SecretStr | None = Field(
        None,
        description="Salt of the hash that names a forgotten shopper in the log (`DELETE "
        "/users/{id}`, `kgrec users delete`); unset = a random one kept in "
        "<data_dir>/privacy/salt (mode 0600).",
    )
    pseudonymise_salt: SecretStr | None = Field(
        None,
        description="Secret (16+ characters) keying the hash that replaces every shopper id "
        "before it is stored (imports, API, `kgrec users delete`); unset = ids kept as given. "
        "Lost = unrecoverable; changed = every shopper orphaned (README, Privacy).",
    )
    api_host: str = Field("127.0.0.1", description="Address `kgrec serve` binds.")
    api_port: int = Field(8000, ge=0, le=65535, description="Port `kgrec serve` binds.")
    api_access_log: bool = Field(
        True, description="One INFO line per request: method, route template, status, ms."
    )
    max_k: int = Field(100, ge=1, le=10_000, description="Largest k a request may ask for.")
    exact_index_max_items: int = Field(
        50_000, ge=0, description="Exact faiss index up to this many items; ANN above."
    )
    ann_index: Literal["hnsw", "ivf", "ivf_sq8"] = Field(
        "ivf_sq8", description="ANN index above the threshold."
    )
    hnsw_m: int = Field(32, ge=4, le=128, description="HNSW graph degree.")
    hnsw_ef_search: int = Field(128, ge=8, description="HNSW search breadth.")
    ivf_nlist: int = Field(0, ge=0, description="IVF lists; 0 = sqrt(items).")
    ivf_nprobe: int = Field(48, ge=1, description="IVF lists probed per query.")
    candidates_graph: int = Field(200, ge=0, description="ANN hits taken in graph space.")
    candidates_text: int = Field(200, ge=0, description="ANN hits taken in text space.")
    candidates_pop: int = Field(100, ge=0, description="Most popular items added as candidates.")
    candidates_context: int = Field(50, ge=0, description="Neighbours of the context item.")
    exact_filter_max_items: int = Field(
        50_000, ge=0, description="Filters selecting at most this many items are scored exactly."
    )
    user_cache_size: int = Field(10_000, ge=0, description="Users whose purchases are cached.")
    query_cache_size: int = Field(10_000, ge=0, description="Query embeddings kept (LRU).")
    graph_check_interval_s: float = Field(
        2.0, ge=0, description="How long a graph reachability check is trusted."
    )
    search_threads: int = Field(
        1,
        ge=1,
        description="CPU threads of faiss search and torch scoring (1 is fastest per query).",
    )

    # Loaders --------------------------------------------------------------------
    import_chunk_rows: int = Field(
        50_000, ge=1, le=5_000_000, description="Rows read per chunk from an import file."
    )
    max_title_chars: int = Field(1_000, ge=1, description="Longest title / name accepted.")
    max_text_chars: int = Field(
        50_000, ge=1, description="Longest description or text attribute accepted."
    )
    category_separator: str = Field(
        " > ", min_length=1, description="Separator of category path strings."
    )
    list_separator: str = Field("|", min_length=1, description="Separator of list cells (ids).")
    dataset_dir: Path | None = Field(
        None, description="Extracted public datasets; unset = <data_dir>/datasets."
    )

    # Text encoders ------------------------------------------------------------------
    text_model: Path | None = Field(
        None, description="Local transformers model directory; unset = bundled all-MiniLM-L6-v2."
    )
    text_backend: Literal["auto", "torch", "onnx"] = Field(
        "auto", description="auto = torch on CUDA, ONNX Runtime on the CPU (measured faster)."
    )
    text_device: DeviceName = Field("auto", description="Device of the torch text backend.")
    text_batch_size: int | None = Field(
        None,
        ge=1,
        le=65_536,
        description="Sentences per forward pass; unset = 16 on the CPU, 512 on CUDA (measured).",
    )
    text_max_tokens: int | None = Field(
        None, ge=8, description="Tokens per text before truncation; unset = the model's own."
    )
    text_onnx_streams: int = Field(
        0,
        ge=0,
        le=256,
        description=(
            "ONNX batches run side by side, each on cores/streams threads; "
            "0 = one per core (measured faster than one run on every core)."
        ),
    )

    # GNN ------------------------------------------------------------------------
    gnn_hidden_dim: int = Field(64, ge=4, le=4096, description="GNN width = embedding size.")
    gnn_layers: int = Field(2, ge=1, le=4, description="Message-passing layers (= hops).")
    gnn_epochs: int = Field(30, ge=1, description="Maximum training epochs.")
    gnn_lr: float = Field(0.01, gt=0, description="Adam learning rate of the GNN.")
    gnn_batch_size: int = Field(8192, ge=1, description="Positive pairs per BPR step.")
    gnn_patience: int = Field(4, ge=1, description="Epochs without better val Recall@20.")
    gnn_mode: Literal["auto", "full", "minibatch"] = Field(
        "auto", description="Training mode; auto = full-batch up to gnn_full_batch_max_edges."
    )
    gnn_full_batch_max_edges: int = Field(
        5_000_000, ge=0, description="auto trains full-batch up to this many graph edges."
    )
    gnn_fanout: int = Field(15, ge=1, description="Neighbours sampled per node and edge type.")
    inductive_seed_fanout: int = Field(
        50,
        ge=0,
        description="Online (re-)embedding of a product or user reads at most this many "
        "relationships per type of it: a user's most recent interactions; 0 = all.",
    )
    inductive_fanout: int = Field(
        10,
        ge=0,
        description="... and at most this many per type of each node further out "
        "(in the graph server's storage order; like gnn_fanout in training); 0 = all.",
    )
    gnn_sampler: Literal["auto", "torch", "pyg"] = Field(
        "auto",
        description="Mini-batch sampler: pyg (needs pyg-lib or torch-sparse), torch, "
        "or auto = pyg when importable.",
    )
    gnn_product_memory: bool = Field(
        False,
        description=(
            "A learned vector per trained product: better warm recall, worse cold start "
            "(measured in docs/gnn.md)."
        ),
    )
    seed: int = Field(0, description="Seed of splits, initialisation and sampling.")

    # Artifact versions ------------------------------------------------------------
    promote_tolerance: float = Field(
        0.02,
        ge=-1.0,
        le=1.0,
        description="Relative drop in validation Recall@20 a version retrained by "
        "`kgrec train --since` may show against the serving one and still be promoted.",
    )
    keep_versions: int = Field(
        5,
        ge=2,
        description="Artifact versions kept on disk (LATEST and the previously promoted "
        "one are never deleted).",
    )
    artifact_poll_s: float = Field(
        5.0,
        ge=0,
        description="How often `kgrec serve` checks LATEST and swaps in a newly promoted "
        "version; 0 = never.",
    )

    # Compute --------------------------------------------------------------------
    device: DeviceName = Field("auto", description="torch device for GNN and ranking.")

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_env(cls, data: Any) -> Any:
        """Reject ``KGREC_*`` environment variables that name no setting."""
        known = {f"{ENV_PREFIX}{name}".upper() for name in cls.model_fields}
        test_prefix = f"{ENV_PREFIX}TEST_"  # read by the test suite only
        unknown = sorted(
            k
            for k in os.environ
            if k.startswith(ENV_PREFIX) and k not in known and not k.startswith(test_prefix)
        )
        if unknown:
            raise ConfigError(
                f"unknown setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}"
            )
        return data

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir_not_empty(cls, value: Any) -> Any:
        """An empty ``KGREC_DATA_DIR`` would mean the working directory: refuse it."""
        if isinstance(value, str) and not value.strip():
            raise ValueError(
                "KGREC_DATA_DIR is empty; unset it (default .kgrec) or name a directory"
            )
        return value

    @field_validator("pseudonymise_salt")
    @classmethod
    def _salt_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        """A short salt would make pseudonyms easy to brute-force: refuse it (a
        ConfigError, not a ValueError, so pydantic does not echo the salt)."""
        problem = None if value is None else salt_problem(value.get_secret_value())
        if problem is not None:
            raise ConfigError(problem)
        return value

    @property
    def embedded(self) -> bool:
        """True when kgrec runs its own ArcadeDB server (no ``neo4j_uri`` set)."""
        return self.neo4j_uri is None

    def resolve_device(self) -> str:
        """The torch device name: ``cuda`` when asked for or available under ``auto``."""
        import torch

        if self.device == "cuda" and not torch.cuda.is_available():
            raise ConfigError(
                "KGREC_DEVICE=cuda but torch sees no CUDA device; use 'auto' or 'cpu'"
            )
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return self.device
