"""Mounting the pages, the templates and the static assets on an app."""

from __future__ import annotations

from pathlib import Path

import plotly
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware

from urbanpulse.i18n import gettext as _
from urbanpulse.web.assets import PREFIX, AssetStore
from urbanpulse.web.pages import PAGE_ROUTERS
from urbanpulse.web.pages.access import render_sign_in
from urbanpulse.web.rendering import build_templates, render_page

STATIC_DIR = Path(__file__).parent / "static"
# The full plotly.js of the plotly package (4.8 MB), for anyone still linking it; the
# pages load the 1.2 MB basic bundle in static/vendor (scatter and bar are all they draw).
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
# Level 6: pages and JSON are made per request, so speed matters more than the last byte.
GZIP_LEVEL = 6


def add_web(app: FastAPI) -> None:
    """Add the pages, ``/static`` (our assets, also under versioned URLs) and
    ``/vendor/plotly.min.js``; responses are gzipped for browsers that accept it."""
    assets = AssetStore(STATIC_DIR)
    app.state.assets = assets
    app.state.templates = build_templates()
    # {{ base }}{{ asset("commuter.js") }}: the file's versioned URL.
    app.state.templates.env.globals["asset"] = assets.get_url
    app.state.render_error_page = render_error_page

    # Two routes rather than one {name:path}: the access matrix keys routes by template.
    @app.get(PREFIX + "/{digest}/{name}", include_in_schema=False)
    def get_static_asset(request: Request, digest: str, name: str) -> Response:
        return assets.build_response(request, digest, name)

    @app.get(PREFIX + "/{digest}/vendor/{name}", include_in_schema=False)
    def get_vendor_asset(request: Request, digest: str, name: str) -> Response:
        return assets.build_response(request, digest, f"vendor/{name}")

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
    # Outermost: pages, JSON and the files above leave compressed. Responses that are
    # compressed already (the versioned assets, open-data exports) pass through as they are.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=GZIP_LEVEL)


def render_error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    """The HTML page shown to browsers for an error on a page; for a page that needs
    credentials (401), the sign-in form, which comes back to the page."""
    if status_code == 401:
        # back to the very page asked for, its query (a deep link's options) included
        query = f"?{request.url.query}" if request.url.query else ""
        return render_sign_in(
            request, next_path=request.url.path + query, message=message, status_code=401
        )
    return render_page(
        request,
        "error.html",
        title=_("Error {status}").format(status=status_code),
        status_code=status_code,
        status=status_code,
        message=message,
    )
