"""Simulated experiment logs: a seeded population served by arms with known true rates."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from kgrec.api.experiments.log import Record


def simulated_log(
    rates: Mapping[str, tuple[float, float]],
    answers_per_arm: int,
    *,
    seed: int,
    experiment: str = "exp",
) -> list[Record]:
    """Impressions and feedback events of ``answers_per_arm`` answers per arm.

    Args:
        rates: arm -> (true CTR, true conversion): each answer is clicked with the
            first probability and bought from with the second, independently.
        answers_per_arm: answers each arm served.
        seed: seeds the population (the same seed gives the same log).
        experiment: the experiment's name.
    """
    rng = np.random.default_rng(seed)
    records: list[Record] = []
    for arm, (ctr, conversion) in rates.items():
        clicked = rng.random(answers_per_arm) < ctr
        bought = rng.random(answers_per_arm) < conversion
        for i in range(answers_per_arm):
            rid = uuid.UUID(int=int(rng.integers(0, 2**63))).hex
            user = f"u-{arm}-{i}"
            records.append(
                {
                    "type": "impression",
                    "request_id": rid,
                    "experiment": experiment,
                    "arm": arm,
                    "user_id": user,
                    "items": ["p1", "p2"],
                }
            )
            for kind, happened in (("click", clicked[i]), ("purchase", bought[i])):
                if happened:
                    records.append(
                        {"type": "event", "request_id": rid, "user_id": user, "kind": kind}
                    )
    return records


HEX32 = re.compile(r"^[0-9a-f]{32}$")
"""A request id: 32 lowercase hex digits."""


def recommend(client: TestClient, **params: Any) -> dict[str, Any]:
    """GET /recommendations (k=10 unless given): the answer, checked for 200 and its request id."""
    r = client.get("/recommendations", params={"k": 10, **params})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert HEX32.match(body["request_id"]), body["request_id"]
    return body
