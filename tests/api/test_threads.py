"""The serving process's BLAS threads (api/app.py, ``use_search_threads``).

The sample catalogue is small, so the service bounds numpy's BLAS to one thread
while it runs (``blas_threads`` 0, auto) and gives the pool back at shutdown; a
count set in the settings applies whatever the catalogue's size.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from threadpoolctl import threadpool_info

from kgrec.graph import GraphStore
from tests.utils.api import ClientFactory


def _blas_threads() -> set[int]:
    """The thread counts of the BLAS libraries numpy and scipy loaded.

    faiss's own OpenBLAS is an OpenMP build, whose count is per calling thread
    (``search_threads`` sets it in each request thread).
    """
    return {
        int(p["num_threads"])
        for p in threadpool_info()
        if p["user_api"] == "blas" and {"numpy.libs", "scipy.libs"} & set(Path(p["filepath"]).parts)
    }


@pytest.fixture
def several() -> set[int]:
    """The BLAS thread counts before the app starts (skips where BLAS runs one thread)."""
    before = _blas_threads()
    if not before or max(before) < 2:
        pytest.skip(f"numpy's BLAS runs {before or 'no'} thread(s) here: nothing to bound")
    return before


def test_a_small_catalogue_is_served_with_one_blas_thread_then_given_back(
    sample_store: GraphStore, make_client: ClientFactory, several: set[int]
) -> None:
    with make_client(sample_store) as client:
        assert client.get("/recommendations", params={"k": 3}).status_code == 200
        assert _blas_threads() == {1}
    assert _blas_threads() == several


def test_blas_threads_in_the_settings_apply_whatever_the_catalogue(
    sample_store: GraphStore, make_client: ClientFactory, several: set[int]
) -> None:
    with make_client(sample_store, serving={"blas_threads": 2}):
        assert _blas_threads() == {2}
    assert _blas_threads() == several
