"""Schemathesis against /openapi.json, with the write key: no input gives a 5xx.

Every operation of the schema gets a bounded number of generated requests, valid
ones (positive mode) and ones that break the schema (negative mode), with a fixed
seed (hypothesis ``derandomize``). They go through a TestClient on the app over
the sample graph and artifacts (in process, no network).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.generation.case import Case
from schemathesis.schemas import APIOperation

from kgrec.graph import GraphStore
from tests.utils.api import API_KEY, ClientFactory

EXAMPLES_PER_MODE = 15
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


def _send(client: TestClient, case: Case[Any]) -> Any:
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url))
    if not kwargs.get("cookies"):
        kwargs.pop("cookies", None)
    data = kwargs.pop("data", None)
    if data is not None:  # requests' raw body is httpx's content
        kwargs["content"] = data
    kwargs["headers"] = {**kwargs.get("headers", {}), "X-API-Key": API_KEY}
    return client.request(**kwargs)


def _fuzz(
    client: TestClient, operation: APIOperation[Any, Any, Any, Any], mode: GenerationMode
) -> None:
    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=EXAMPLES_PER_MODE,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Case[Any]) -> None:
        response = _send(client, case)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} -> {response.status_code}: "
            f"{response.text[:500]}\n{case.as_curl_command()}"
        )
        case.validate_response(response, checks=[not_a_server_error])

    try:
        run()
    except Unsatisfiable:
        # an operation with no input (GET /health) has nothing to break in negative mode
        assert mode is GenerationMode.NEGATIVE, operation.label


@pytest.mark.slow
def test_no_generated_request_gets_a_5xx(
    sample_store: GraphStore, make_client: ClientFactory
) -> None:
    with make_client(sample_store) as client:
        schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
        operations = []
        for result in schema.get_all_operations():
            assert not isinstance(result, Err), result.err()
            operations.append(result.ok())
        assert len(operations) >= 9, [o.label for o in operations]
        for operation in operations:
            for mode in MODES:
                _fuzz(client, operation, mode)
