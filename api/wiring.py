"""Services: the heavy resources the app builds once (engine, encoder, graph) and their wiring.

:func:`default_services` is what ``kgrec serve`` uses: the configured graph (the
embedded default when no URI is set), the latest artifact version under
``<data_dir>/artifacts`` and the text encoder it was built with. Tests and the
bench pass their own factory to :func:`api.app.create_app`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from api.engine import Engine
from api.experiments.config import load_experiments
from api.experiments.log import EventLog
from api.experiments.serving import Experiments
from api.index import IndexOptions
from api.metrics import Metrics
from api.options import Candidates, EngineOptions
from api.ranking import Weights
from api.reloader import ArtifactWatcher
from api.restore import Restorer
from api.state import EmbedderFactory
from gnn.artifacts import ArtifactSet
from gnn.checkpoint import Checkpoint
from gnn.inductive import InductiveEmbedder
from gnn.options import PipelineOptions
from graph import GraphStore, open_graph
from kgrec.errors import GraphConnectionError
from kgrec.settings import Settings
from text_encoders import TextEncoder, load_encoder

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What one app instance serves with (built in the lifespan, closed at shutdown)."""

    settings: Settings
    engine: Engine
    store: GraphStore | None
    metrics: Metrics = field(default_factory=Metrics)


ServicesFactory = Callable[[Settings], AbstractContextManager[Services]]


def artifacts_root(settings: Settings) -> Path:
    """``<data_dir>/artifacts``: where ``kgrec embed`` writes versions."""
    return settings.paths.artifacts


def index_options(settings: Settings) -> IndexOptions:
    """The faiss indexes' kind and parameters the serving settings name."""
    s = settings.serving
    return IndexOptions(
        exact_max_items=s.exact_index_max_items,
        ann_index=s.ann_index,
        hnsw_m=s.hnsw_m,
        hnsw_ef_search=s.hnsw_ef_search,
        ivf_nlist=s.ivf_nlist,
        ivf_nprobe=s.ivf_nprobe,
        search_threads=s.search_threads,
    )


def engine_options(settings: Settings) -> EngineOptions:
    """What the serving engine runs with, from the settings."""
    s = settings.serving
    return EngineOptions(
        device=settings.resolve_device(),
        data_dir=settings.data_dir,
        weights=Weights(s.w_graph, s.w_text, s.w_pop),
        candidates=Candidates(
            graph=s.candidates_graph,
            text=s.candidates_text,
            pop=s.candidates_pop,
            context=s.candidates_context,
            exact_filter_max_items=s.exact_filter_max_items,
        ),
        index=index_options(settings),
        max_k=s.max_k,
        query_cache_size=s.query_cache_size,
        user_cache_size=s.user_cache_size,
        graph_check_interval_s=s.graph_check_interval_s,
        ranker=s.ranker,
        fresh_share=s.fresh_share,
        w_query=s.w_query,
    )


def experiments_of(settings: Settings) -> Experiments:
    """``KGREC_SERVING__EXPERIMENTS_FILE`` and the data directory's experiment log.

    Raises:
        ConfigError: the experiments file breaks a rule (named).
    """
    config = load_experiments(settings.serving.experiments_file, ranker=settings.serving.ranker)
    return Experiments(config, EventLog.in_data_dir(settings.data_dir))


def pipeline_options(settings: Settings) -> PipelineOptions:
    """What ``kgrec train`` / ``kgrec embed`` run with, from the settings."""
    return PipelineOptions(
        data_dir=settings.data_dir,
        gnn=settings.gnn,
        device=settings.resolve_device(),
        ranker=settings.serving.ranker,
        keep_versions=settings.artifacts.keep_versions,
        promote_tolerance=settings.artifacts.promote_tolerance,
        seed_fanout=settings.serving.inductive_seed_fanout,
        fanout=settings.serving.inductive_fanout,
    )


def gnn_embedder_factory(settings: Settings, encoder: TextEncoder) -> EmbedderFactory:
    """Builds the GNN's inductive embedder from the checkpoint saved with an artifact version.

    A version without a checkpoint (synthetic artifacts) gets None: the engine then
    uses its neighbour-mean fallback.
    """

    def build(artifacts: ArtifactSet) -> InductiveEmbedder | None:
        path = artifacts.checkpoint_path
        if path is None:
            return None
        checkpoint = Checkpoint.load(path, snapshot_version=artifacts.manifest.snapshot_version)
        return pipeline_options(settings).embedder(checkpoint, encoder)  # checks the encoder

    return build


@contextlib.contextmanager
def default_services(settings: Settings, artifacts_dir: Path | None = None) -> Iterator[Services]:
    """Graph, artifacts (``artifacts_dir``, default the latest version), encoder, engine.

    A configured Neo4j that does not answer at start-up gives a degraded service
    that recovers when the server answers; an embedded server that cannot start
    gives a degraded service without a graph. The embedded server is followed: when
    it restarts (on other ports, even), the service talks to the new one.

    Before the service answers, the products and users the graph holds and the
    artifact version lacks (written online since it was built) are embedded and
    served (:mod:`api.restore`); when the graph does not answer yet, that happens
    in the background as soon as it does.

    Without ``artifacts_dir``, LATEST is followed: a version promoted later is swapped
    in within ``KGREC_SERVING__ARTIFACT_POLL_S`` seconds (:mod:`api.reloader`).
    """
    with contextlib.ExitStack() as stack:
        store: GraphStore | None
        try:
            store = stack.enter_context(
                open_graph(settings.graph, settings.data_dir, require_answer=False, follow=True)
            )
        except GraphConnectionError as e:
            log.warning("serving without the graph (degraded): %s", e)
            store = None
        artifacts = ArtifactSet.load(
            artifacts_dir or ArtifactSet.latest_path(artifacts_root(settings))
        )
        encoder = load_encoder(settings.text, settings.paths.onnx_models)
        engine = Engine(
            engine_options(settings),
            artifacts,
            encoder,
            store,
            embedder_factory=gnn_embedder_factory(settings, encoder),
        )
        if store is not None:
            restorer = Restorer(engine, store, settings.serving.graph_check_interval_s)
            stack.callback(restorer.close)
            restorer.start()
        if artifacts_dir is None and settings.serving.artifact_poll_s > 0:
            root = artifacts_root(settings)
            stack.enter_context(ArtifactWatcher(engine, root, settings.serving.artifact_poll_s))
        yield Services(settings=settings, engine=engine, store=store)
