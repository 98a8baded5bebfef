"""Names the API tests share with their fixtures (tests/api/conftest.py)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import torch
from fastapi.testclient import TestClient

API_KEY = "test-key-123"
"""The write key of the apps ``make_client`` builds."""

ClientFactory = Callable[..., contextlib.AbstractContextManager[TestClient]]
"""``make_client(store, **settings)``: a TestClient on an app over the sample artifacts."""


def threads_of_a_new_thread() -> int:
    """The torch thread count of a thread that starts now, as a request thread would.

    torch keeps a count per thread once it is set there; a new thread takes the
    process's count (the one the last ``torch.set_num_threads`` call set).
    """
    seen: list[int] = []
    worker = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    worker.start()
    worker.join()
    return seen[0]
