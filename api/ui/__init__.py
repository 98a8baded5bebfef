"""The web explorer: a static single-page app served at ``/ui`` (see docs/ui.md).

The files under ``static/`` ship as package data; the page talks to the API of the
same origin only (no CDN, no network at run time). Its one library, cytoscape.js,
is vendored from its npm package under ``static/vendor/`` with its licence
(api/ui/README.md says which version and from where).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
UI_PATH: Final = "/ui"


def mount_ui(app: FastAPI) -> None:
    """Serve the explorer at ``/ui/`` (``/ui`` redirects there); not in the OpenAPI schema.

    Raises:
        RuntimeError: the static files are missing (a broken install).
    """
    if not (STATIC_DIR / "index.html").is_file():
        raise RuntimeError(
            f"the web explorer's files are missing from {STATIC_DIR}; reinstall kgrec "
            "(`pip install -e .` from a checkout) so its package data is included"
        )

    async def to_ui() -> RedirectResponse:
        return RedirectResponse(f"{UI_PATH}/", status_code=307)

    app.add_api_route(UI_PATH, to_ui, methods=["GET"], include_in_schema=False)
    app.mount(UI_PATH, StaticFiles(directory=STATIC_DIR, html=True), name="ui")
