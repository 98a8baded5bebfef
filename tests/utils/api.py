"""Names the API tests share with their fixtures (tests/api/conftest.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from fastapi.testclient import TestClient

API_KEY = "test-key-123"
"""The write key of the apps ``make_client`` builds."""

ClientFactory = Callable[..., contextlib.AbstractContextManager[TestClient]]
"""``make_client(store, **settings)``: a TestClient on an app over the sample artifacts."""
