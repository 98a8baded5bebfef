"""The sections of :class:`kgrec.settings.Settings`, one frozen model each.

Each is set by ``KGREC_<SECTION>__<FIELD>``; library code takes the section it
needs (``GraphSettings`` for a session, ``TextSettings`` for an encoder, ...)
rather than the whole settings object. Units are in the names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

DeviceName = Literal["auto", "cpu", "cuda"]


class Section(BaseModel):
    """A frozen group of settings that refuses unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class GraphSettings(Section):
    """The graph server: Neo4j or the embedded one, connections, batch sizes."""

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
    query_timeout_s: float = Field(
        120.0,
        gt=0,
        description="Per-transaction timeout. The embedded server stops any one command "
        "after it (the value of the process that started the server).",
    )
    write_batch_size: int = Field(1000, ge=1, le=100_000, description="Rows per UNWIND batch.")
    read_page_size: int = Field(5000, ge=1, le=1_000_000, description="Rows per read page.")
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

    @property
    def embedded(self) -> bool:
        """True when kgrec runs its own ArcadeDB server (no ``neo4j_uri`` set)."""
        return self.neo4j_uri is None


class ServingSettings(Section):
    """The service: HTTP, ranking, indexes, caches, online embedding, swaps."""

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
    fresh_temperature: float = Field(
        0.5,
        ge=0.0,
        le=10.0,
        description="Temperature of each shopper's random draw of the fresh products' order "
        "(z units of the cold order; 0 = every shopper the same order; docs/ranking.md).",
    )
    w_query: float = Field(
        2.0,
        ge=0.0,
        le=100.0,
        description="Weight of the query's (or context product's) text ranking against the "
        "personal ranking in reciprocal-rank fusion.",
    )
    w_link: float = Field(
        2.0,
        ge=0.0,
        le=100.0,
        description="Weight, in the same fusion, of the shopper's ranking within the category "
        'a typed query names ("westerns" -> Western; 0 = queries are never linked).',
    )
    link_threshold: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Cosine a query must reach with a category's name to name it (and be "
        "0.03 closer than the next category).",
    )
    experiments_file: Path | None = Field(
        None,
        description="TOML file of A/B experiments (arms overriding ranker, w_query, w_link, "
        "fresh_share, fresh_temperature, generators, artifact_version; docs/experiments.md); "
        "unset = no "
        "experiments.",
    )
    api_key: SecretStr | None = Field(
        None, description="Key write endpoints require in X-API-Key; unset = writes refused."
    )
    api_read_requires_key: bool = Field(False, description="Read endpoints require the key too.")
    api_host: str = Field("127.0.0.1", description="Address `kgrec serve` binds.")
    api_port: int = Field(8000, ge=0, le=65535, description="Port `kgrec serve` binds.")
    api_access_log: bool = Field(
        True, description="One INFO line per request: method, route template, status, ms."
    )
    max_k: int = Field(100, ge=1, le=10_000, description="Largest k a request may ask for.")
    exact_index_max_items: int = Field(
        50_000,
        ge=0,
        description="Exact faiss index up to this many items; ANN above. Past it in warm "
        "products, the learned ranking's linear generators of 128 or more dimensions read "
        "their warm products through an ANN index too (docs/ranking.md).",
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
    candidates_served: int = Field(
        1000,
        ge=1,
        description="Positions of the learned ranking's list read per request (at least k): "
        "fused with the query's list and filtered; all of it when the filters leave fewer "
        "than k there.",
    )
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
    blas_threads: int = Field(
        0,
        ge=0,
        description="Threads of numpy's BLAS (the learned ranking's scans over every "
        "product); 0 = auto: 1 below 20,000 products (docs/api.md), else every core.",
    )
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
        "(in the graph server's storage order; like gnn.fanout in training); 0 = all.",
    )
    artifact_poll_s: float = Field(
        5.0,
        ge=0,
        description="How often `kgrec serve` checks LATEST and swaps in a newly promoted "
        "version; 0 = never.",
    )


class LoaderSettings(Section):
    """Imports: chunking, limits, separators, public datasets."""

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


class TextSettings(Section):
    """The text encoder: model, backend, device, batches."""

    model: Path | None = Field(
        None, description="Local transformers model directory; unset = bundled all-MiniLM-L6-v2."
    )
    backend: Literal["auto", "torch", "onnx"] = Field(
        "auto", description="auto = torch on CUDA, ONNX Runtime on the CPU (measured faster)."
    )
    device: DeviceName = Field("auto", description="Device of the torch text backend.")
    batch_size: int | None = Field(
        None,
        ge=1,
        le=65_536,
        description="Sentences per forward pass; unset = 16 on the CPU, 512 on CUDA (measured).",
    )
    max_tokens: int | None = Field(
        None, ge=8, description="Tokens per text before truncation; unset = the model's own."
    )
    onnx_streams: int = Field(
        0,
        ge=0,
        le=256,
        description=(
            "ONNX batches run side by side, each on cores/streams threads; "
            "0 = one per core (measured faster than one run on every core)."
        ),
    )


class ArtifactSettings(Section):
    """Artifact versions: retraining's promotion gate and how many are kept."""

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
