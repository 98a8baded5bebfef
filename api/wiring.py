"""Services: the heavy resources the app builds once (engines, encoder, graph) and their wiring.

:func:`default_services` is what ``kgrec serve`` uses: the configured graph (the
embedded default when no URI is set), the latest artifact version under
``<data_dir>/artifacts`` and the text encoder it was built with, plus an engine
pinned to each artifact version an experiment arm names (:func:`services_over`).
Tests and the bench pass their own factory to :func:`kgrec.api.app.create_app`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from kgrec.api.engine import Engine
from kgrec.api.experiments.arms import Experiment, RankingOverrides
from kgrec.api.experiments.config import ExperimentsConfig, load_experiments, pinned_versions
from kgrec.api.experiments.log import EventLog
from kgrec.api.experiments.serving import Experiments
from kgrec.api.index import IndexOptions, index_writer
from kgrec.api.metrics import Metrics
from kgrec.api.options import Candidates, EngineOptions
from kgrec.api.ranking import Weights
from kgrec.api.reloader import ArtifactWatcher
from kgrec.api.restore import Restorer
from kgrec.api.retrieval_indexes import retrieval_writer
from kgrec.api.state import EmbedderFactory
from kgrec.api.writes import RecordedEvents
from kgrec.api.written_online import WrittenOnline
from kgrec.errors import ConfigError, GraphConnectionError, ServiceUnavailableError
from kgrec.gnn.artifacts import ArtifactSet, VersionWriter
from kgrec.gnn.checkpoint import Checkpoint
from kgrec.gnn.inductive import InductiveEmbedder
from kgrec.gnn.options import PipelineOptions
from kgrec.gnn.versions import VersionStore
from kgrec.graph import GraphStore, UpsertCounts, open_graph
from kgrec.graph.records import InteractionRow, ProductRow, UserRow
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder, load_encoder

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What one app instance serves with (built in the lifespan, closed at shutdown).

    Attributes:
        engine: the main engine: the version LATEST names (swapped on a promotion).
        arm_engines: artifact version -> the engine pinned to it, one per version the
            active experiment's arms name (docs/experiments.md).
    """

    settings: Settings
    engine: Engine
    store: GraphStore | None
    metrics: Metrics = field(default_factory=Metrics)
    arm_engines: Mapping[str, Engine] = field(default_factory=dict)

    def engine_for(self, overrides: RankingOverrides | None) -> Engine:
        """The engine that serves an arm: its pinned version's, else the main one.

        Raises:
            ServiceUnavailableError: no engine serves the arm's version (a services
                factory that :meth:`check_arms` would have refused).
        """
        version = None if overrides is None else overrides.artifact_version
        if version is None:
            return self.engine
        engine = self.arm_engines.get(version)
        if engine is None:
            raise ServiceUnavailableError(
                f"no engine serves artifact version {version!r}; restart the service"
            )
        return engine

    def check_arms(self, experiment: Experiment | None) -> None:
        """Check that an engine serves every artifact version the experiment's arms pin.

        Raises:
            ConfigError: a version has no engine (the arms named).
        """
        if experiment is None:
            return
        missing = [
            f"{a.name!r} ({a.overrides.artifact_version!r})"
            for a in experiment.arms
            if a.overrides.artifact_version not in (None, *self.arm_engines)
        ]
        if missing:
            raise ConfigError(
                f"experiment {experiment.name!r}: arm(s) {', '.join(missing)} pin an artifact "
                "version no engine of this service serves (the services factory built none)"
            )

    def add_items(self, rows: Sequence[ProductRow], *, replace: bool = False) -> list[str]:
        """:meth:`Engine.add_items` on the main engine, then mirrored into the arm engines.

        The graph is written once; each arm engine reads the rows back and embeds them
        in its version's space.
        """
        added = self.engine.add_items(rows, replace=replace)
        for engine in self.arm_engines.values():
            engine.add_items(rows, replace=replace, mirror=True)
        return added

    def declare_users(self, rows: Sequence[UserRow]) -> UpsertCounts:
        """:meth:`Engine.declare_users` on the main engine, then in the arm engines.

        The graph is written once; each arm engine weighs the shoppers again from it
        (their history stays as it is).
        """
        counts = self.engine.declare_users(rows)
        for engine in self.arm_engines.values():
            engine.declare_users(rows, write_graph=False)
        return counts

    def record_events(self, rows: Sequence[InteractionRow]) -> RecordedEvents:
        """:meth:`Engine.record_events` on the main engine, then in the arm engines.

        The graph is written once; each arm engine re-embeds the users and adds the
        products to their history.
        """
        recorded = self.engine.record_events(rows)
        for engine in self.arm_engines.values():
            engine.record_events(rows, write_graph=False)
        return recorded


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


def version_writers(settings: Settings) -> list[VersionWriter]:
    """What ``kgrec embed`` adds to an artifact version for serving: the faiss indexes.

    The graph and text indexes (:func:`~kgrec.api.index.index_writer`) and the
    learned ranking's retrieval indexes
    (:func:`~kgrec.api.retrieval_indexes.retrieval_writer`).
    """
    index = index_options(settings)
    return [index_writer(index), retrieval_writer(index)]


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
            served=s.candidates_served,
        ),
        index=index_options(settings),
        max_k=s.max_k,
        query_cache_size=s.query_cache_size,
        user_cache_size=s.user_cache_size,
        graph_check_interval_s=s.graph_check_interval_s,
        ranker=s.ranker,
        fresh_share=s.fresh_share,
        fresh_temperature=s.fresh_temperature,
        w_query=s.w_query,
        w_link=s.w_link,
        link_threshold=s.link_threshold,
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


def pinned_engines(
    settings: Settings,
    config: ExperimentsConfig,
    encoder: TextEncoder,
    store: GraphStore | None,
    written_online: WrittenOnline | None = None,
) -> dict[str, Engine]:
    """One engine per artifact version the active experiment's arms pin.

    Each has the main engine's options, encoder, graph, embedder factory and
    ledger of online writes, and is never swapped.

    Raises:
        ConfigError: an arm names a version that is not on disk (the versions listed).
    """
    root = artifacts_root(settings)
    versions = pinned_versions(config, VersionStore(root).versions(), root)
    return {
        v: Engine(
            engine_options(settings),
            ArtifactSet.load(root / v),
            encoder,
            store,
            embedder_factory=gnn_embedder_factory(settings, encoder),
            written_online=written_online,
        )
        for v in versions
    }


@contextlib.contextmanager
def default_services(settings: Settings, artifacts_dir: Path | None = None) -> Iterator[Services]:
    """Graph, artifacts (``artifacts_dir``, default the latest version), encoder, engines.

    A configured Neo4j that does not answer at start-up gives a degraded service
    that recovers when the server answers; an embedded server that cannot start
    gives a degraded service without a graph. The embedded server is followed: when
    it restarts (on other ports, even), the service talks to the new one. The rest
    is :func:`services_over`.
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
        encoder = load_encoder(settings.text, settings.paths.onnx_models)
        yield stack.enter_context(services_over(settings, store, encoder, artifacts_dir))


@contextlib.contextmanager
def services_over(
    settings: Settings,
    store: GraphStore | None,
    encoder: TextEncoder,
    artifacts_dir: Path | None = None,
) -> Iterator[Services]:
    """The main engine and the experiment arms' pinned engines over an open graph.

    Before the service answers, the products and users the graph holds and an
    engine's artifact version lacks or holds stale (written online since its
    snapshot, as the data directory's ledger of online writes says) are embedded
    and served (:mod:`kgrec.api.restore`); when the graph does not answer yet, that
    happens in the background as soon as it does.

    Without ``artifacts_dir``, LATEST is followed: a version promoted later is swapped
    into the main engine within ``KGREC_SERVING__ARTIFACT_POLL_S`` seconds
    (:mod:`kgrec.api.reloader`); the arm engines stay on their versions.

    Raises:
        ConfigError: the experiments file breaks a rule, or an arm names a version
            that is not on disk.
    """
    config = load_experiments(settings.serving.experiments_file, ranker=settings.serving.ranker)
    with contextlib.ExitStack() as stack:
        written = WrittenOnline.in_data_dir(settings.data_dir) if store is not None else None
        if written is not None:
            stack.callback(written.close)
        arms = pinned_engines(settings, config, encoder, store, written)  # checks first
        artifacts = ArtifactSet.load(
            artifacts_dir or ArtifactSet.latest_path(artifacts_root(settings))
        )
        engine = Engine(
            engine_options(settings),
            artifacts,
            encoder,
            store,
            embedder_factory=gnn_embedder_factory(settings, encoder),
            written_online=written,
        )
        for served in (engine, *arms.values()):
            if store is None:
                break
            restorer = Restorer(served, store, settings.serving.graph_check_interval_s)
            stack.callback(restorer.close)
            restorer.start()
        if artifacts_dir is None and settings.serving.artifact_poll_s > 0:
            root = artifacts_root(settings)
            poll_s = settings.serving.artifact_poll_s
            stack.enter_context(ArtifactWatcher(engine, root, poll_s, settings.data_dir))
        yield Services(settings=settings, engine=engine, store=store, arm_engines=arms)
