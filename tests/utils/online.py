"""An engine with the checkpoint's inductive embedder, and the rows its online-write tests send."""

from __future__ import annotations

from kgrec.api.engine import Engine
from kgrec.api.wiring import engine_options, gnn_embedder_factory
from kgrec.api.written_online import WrittenOnline
from kgrec.gnn.artifacts import ArtifactSet
from kgrec.gnn.checkpoint import Checkpoint
from kgrec.gnn.inductive import InductiveEmbedder
from kgrec.graph import GraphStore, InteractionRow, ProductRow
from kgrec.settings import Settings
from kgrec.text_encoders import TextEncoder


def trail_shoe(pid: str, title: str) -> ProductRow:
    """A product of the sample catalogue's brand and category, at 20.0."""
    return {
        "id": pid,
        "title": title,
        "price": 20.0,
        "brand_id": "stride",
        "category_ids": ["trail-shoes"],
    }


def view_event(user: str, product: str, ts: int) -> InteractionRow:
    """One view at ``ts``."""
    return {"user_id": user, "product_id": product, "kind": "view", "ts": ts}


def version_checkpoint(artifacts: ArtifactSet) -> Checkpoint:
    """The checkpoint an artifact version was embedded with."""
    assert artifacts.checkpoint_path is not None
    return Checkpoint.load(
        artifacts.checkpoint_path, snapshot_version=artifacts.manifest.snapshot_version
    )


def inductive_engine(
    settings: Settings,
    artifacts: ArtifactSet,
    encoder: TextEncoder,
    store: GraphStore,
    embedder: InductiveEmbedder | None = None,
    written_online: WrittenOnline | None = None,
) -> Engine:
    """An engine with each version's inductive embedder, as served (or ``embedder``)."""
    factory = gnn_embedder_factory(settings, encoder) if embedder is None else lambda _: embedder
    return Engine(
        engine_options(settings),
        artifacts,
        encoder,
        store,
        embedder_factory=factory,
        written_online=written_online,
    )


def written_through(engine: Engine) -> tuple[list[str], list[str]]:
    """Write 5 products and events through ``engine``: (product ids, user ids written)."""
    products = [f"p-r{i}" for i in range(5)]
    engine.add_items([trail_shoe(p, f"Restored trail shoe {p}") for p in products])
    engine.record_events(
        [view_event("u-r1", p, 10 + i) for i, p in enumerate(products)]
        + [
            view_event("u-r2", "p001", 20),
            view_event("u-r2", "p-r0", 21),
            view_event("u01", "p-r1", 22),
        ]
    )
    return products, ["u-r1", "u-r2"]


def served_title_price(engine: Engine, product_id: str) -> tuple[str, float | None]:
    """The title and price ``engine`` serves for ``product_id`` (found by a search)."""
    hits = [i for i in engine.search("portable speaker", k=17).items if i.id == product_id]
    assert len(hits) == 1, hits
    return hits[0].title, hits[0].price
