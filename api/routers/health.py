"""GET /health and GET /metrics: always open (probes and scrapers carry no key)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from kgrec.api.deps import ServicesDep
from kgrec.api.metrics import CONTENT_TYPE
from kgrec.api.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut)
def health(services: ServicesDep) -> HealthOut:
    """ok, or degraded when the graph does not answer (reads still served, writes 503)."""
    engine = services.engine
    if services.store is None:
        graph, detail = "none", "no graph: reads only, writes answer 503"
    elif engine.graph_up(fresh=True):
        graph, detail = "up", None
    else:
        graph, detail = "down", "graph server unreachable: reads served, writes answer 503"
    return HealthOut(
        status="ok" if graph == "up" else "degraded",
        graph=graph,
        artifact_version=engine.version,
        items=engine.size,
        device=engine.device,
        indexes=engine.index_info(),
        detail=detail,
    )


@router.get("/metrics", response_model=str, response_class=PlainTextResponse)
def metrics(services: ServicesDep) -> PlainTextResponse:
    """Prometheus text: request counts, latency histograms, index size, artifact version."""
    engine = services.engine
    info = engine.index_info()
    text = services.metrics.render(
        gauges={
            "kgrec_index_items": ("Products served (artifacts + online).", engine.size),
            "kgrec_online_items": ("Products added online since load.", info["online_items"]),
            "kgrec_graph_up": ("1 when the graph answers.", float(engine.graph_up())),
        },
        info={"version": engine.version},
    )
    return PlainTextResponse(text, media_type=CONTENT_TYPE)
