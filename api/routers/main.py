"""``api_router``: every resource's router, included once by :func:`kgrec.api.app.create_app`.

The order is the order of the paths in the OpenAPI schema.
"""

from __future__ import annotations

from fastapi import APIRouter

from kgrec.api.routers import (
    events,
    explain,
    facets,
    health,
    items,
    neighbourhood,
    recommendations,
    search,
    users,
)

api_router = APIRouter()
for _module in (
    recommendations,
    search,
    items,
    neighbourhood,
    facets,
    events,
    explain,
    health,
    users,
):
    api_router.include_router(_module.router)
