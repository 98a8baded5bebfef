"""Experiments in the service: assign a request, log its impression and its feedback.

:class:`Experiments` is built once per app from the settings; the routers ask it
for a request's arm (:meth:`Experiments.assign`), pass the arm's overrides to the
engine, and log what was served (:meth:`Experiments.log_impression`) before the
answer leaves; ``POST /events`` logs the events that carry a ``request_id``
(:meth:`Experiments.log_feedback`) before it answers 201.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from kgrec.api.experiments.arms import Assignment, Experiment
from kgrec.api.experiments.assignment import assign
from kgrec.api.experiments.config import ExperimentsConfig
from kgrec.api.experiments.log import EventLog, Record

Endpoint = Literal["recommendations", "search"]


def new_request_id() -> str:
    """A fresh request id: a random UUID as 32 hex digits."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Feedback:
    """One event of ``POST /events`` that carries the ``request_id`` of an answer."""

    request_id: str
    user_id: str
    product_id: str
    kind: str
    ts: int


class Experiments:
    """The experiments of a service and its event log.

    Args:
        config: the experiments file's content (empty: no experiment).
        log: where impressions and feedback are appended.
    """

    def __init__(self, config: ExperimentsConfig, log: EventLog) -> None:
        self.config = config
        self.log = log

    @property
    def active(self) -> Experiment | None:
        """The experiment requests are assigned to (None: none)."""
        return self.config.active

    def assign(self, user_id: str | None, session_id: str | None) -> Assignment | None:
        """The arm of a request (by user id, else session id; None: not in an experiment)."""
        return assign(self.config.active, user_id, session_id)

    def log_impression(
        self,
        request_id: str,
        assignment: Assignment,
        *,
        endpoint: Endpoint,
        user_id: str | None,
        session_id: str | None,
        product_ids: Sequence[str],
    ) -> None:
        """Append (and fsync) the impression of one answer served in an arm.

        Raises:
            ServiceUnavailableError: the log cannot be written.
        """
        record: Record = {
            "type": "impression",
            "ts": round(time.time(), 3),
            "request_id": request_id,
            "experiment": assignment.experiment,
            "arm": assignment.arm,
            "unit": assignment.unit,
            "user_id": user_id,
            "session_id": session_id,
            "endpoint": endpoint,
            "items": list(product_ids),
        }
        self.log.append([record])

    def log_feedback(self, events: Sequence[Feedback]) -> None:
        """Append (and fsync) the events that name an answer's ``request_id``.

        Raises:
            ServiceUnavailableError: the log cannot be written.
        """
        received = round(time.time(), 3)
        self.log.append(
            [
                {
                    "type": "event",
                    "ts": e.ts,
                    "received": received,
                    "request_id": e.request_id,
                    "user_id": e.user_id,
                    "product_id": e.product_id,
                    "kind": e.kind,
                }
                for e in events
            ]
        )
