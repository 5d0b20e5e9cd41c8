"""Mounting the pages, the templates and the static assets on an app."""

from __future__ import annotations

from pathlib import Path

import plotly
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from urbanpulse.web.pages import PAGE_ROUTERS
from urbanpulse.web.rendering import build_templates, render_error_page

STATIC_DIR = Path(__file__).parent / "static"
# plotly.js ships inside the plotly package, so charts need no CDN and match its version.
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def add_web(app: FastAPI) -> None:
    """Add the pages, ``/static`` (our assets) and ``/vendor/plotly.min.js``."""
    app.state.templates = build_templates()
    app.state.render_error_page = render_error_page
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def get_plotly_js() -> FileResponse:
        return FileResponse(
            PLOTLY_JS,
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    for router in PAGE_ROUTERS:
        app.include_router(router, include_in_schema=False)
