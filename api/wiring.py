"""Services: the heavy resources the app builds once (engine, encoder, graph) and their wiring.

:func:`default_services` is what ``kgrec serve`` uses: the configured graph (the
embedded default when no URI is set), the latest artifact version under
``<data_dir>/artifacts`` and the text encoder it was built with. Tests and the
bench pass their own factory to :func:`api.app.create_app`.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from api.engine import EmbedderFactory, Engine
from api.metrics import Metrics
from api.protocols import TextEncoder
from gnn.artifacts import ArtifactSet
from graph import GraphStore, open_graph
from kgrec.errors import ConfigError, GraphConnectionError
from kgrec.settings import Settings

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
    return settings.data_dir / "artifacts"


def load_text_encoder(settings: Settings) -> TextEncoder:
    """The text encoder of ``text_encoders`` (the one the artifacts were built with)."""
    module = importlib.import_module("text_encoders")
    load_encoder = getattr(module, "load_encoder", None)
    if load_encoder is None:
        raise ConfigError("text_encoders.load_encoder is not available in this installation")
    encoder: TextEncoder = load_encoder(settings)
    return encoder


def gnn_embedder_factory(settings: Settings) -> EmbedderFactory | None:
    """The GNN's inductive embedder for an artifact version, when the gnn layer ships one.

    Returns None when ``gnn`` has no ``InductiveEmbedder``: the engine then uses its
    neighbour-mean fallback.
    """
    try:
        import gnn
    except ImportError:
        return None
    embedder_cls = getattr(gnn, "InductiveEmbedder", None)
    if embedder_cls is None:
        return None

    def build(artifacts: ArtifactSet) -> object:
        checkpoint = artifacts.checkpoint_path
        if checkpoint is None:
            return None
        return embedder_cls.from_checkpoint(checkpoint, settings)

    return build  # type: ignore[return-value]


@contextlib.contextmanager
def default_services(settings: Settings) -> Iterator[Services]:
    """Graph (degraded to none when it cannot be reached), latest artifacts, encoder, engine."""
    with contextlib.ExitStack() as stack:
        store: GraphStore | None
        try:
            store = stack.enter_context(open_graph(settings))
        except GraphConnectionError as e:
            log.warning("serving without the graph (degraded): %s", e)
            store = None
        artifacts = ArtifactSet.load(ArtifactSet.latest_path(artifacts_root(settings)))
        engine = Engine(
            settings,
            artifacts,
            load_text_encoder(settings),
            store,
            embedder_factory=gnn_embedder_factory(settings),
        )
        yield Services(settings=settings, engine=engine, store=store)
