"""Interactive API docs that work offline: Swagger UI served from the installed package.

FastAPI's default docs page loads Swagger UI from a CDN, which a city's internal
network or a laptop on a train cannot reach; ``swagger_ui_bundle`` ships the same files.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

SWAGGER_PREFIX = "/vendor/swagger-ui"


def add_docs(app: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` with its assets under ``/vendor/swagger-ui``."""
    app.mount(SWAGGER_PREFIX, StaticFiles(directory=swagger_ui_path), name="swagger-ui")
    openapi_url = app.openapi_url or "/openapi.json"
    title = f"{app.title} API docs"

    @app.get("/docs", include_in_schema=False)
    def get_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{SWAGGER_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_PREFIX}/favicon-32x32.png",
            # The default validator badge would call validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )
