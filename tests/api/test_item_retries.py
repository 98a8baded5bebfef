"""Products written online when the graph stops answering part-way.

A product write is idempotent by id, so the client's retry is always safe; what
the 503 must get right is whether the products reached the graph. Written to the
real embedded server; the graph "stops answering" in-process right after the
write committed (the read-back raises what the store raises for a lost server).
"""

from __future__ import annotations

from typing import Any

import pytest

from kgrec.api.writes import OnlineWrites
from kgrec.errors import GraphConnectionError
from kgrec.graph import GraphStore
from kgrec.typing import PRODUCT
from tests.utils.api import API_KEY, ClientFactory

KEY = {"X-API-Key": API_KEY}


def test_products_the_graph_committed_are_not_called_not_accepted(
    sample_store: GraphStore, make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The graph lost after the write committed: the 503 says they are written, not served.

    Before, it said "products not accepted ... retry later" for products the graph
    held (and a restart would serve).
    """
    item = {"id": "p950", "title": "Rain boots for the city"}

    def lost(*args: Any, **kwargs: Any) -> Any:
        raise GraphConnectionError("lost the graph server (test)")

    with make_client(sample_store) as client:
        with monkeypatch.context() as patch:
            patch.setattr(OnlineWrites, "_served_rows", lost)
            refused = client.post("/items", json={"items": [item]}, headers=KEY)
        assert refused.status_code == 503, refused.text
        detail = refused.json()["detail"]
        assert detail.startswith("products written to the graph but not served yet"), detail
        assert "send them again" in detail
        assert sample_store.existing_ids(PRODUCT, ["p950"]) == {"p950"}
        again = client.post("/items", json={"items": [item]}, headers=KEY)
        assert again.status_code == 201, again.text
        similar = client.get("/items/p950/similar", params={"k": 3})
        assert similar.status_code == 200, similar.text
