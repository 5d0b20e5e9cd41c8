"""Interactive API docs that work offline: Swagger UI served from the installed package.

FastAPI's default docs page loads Swagger UI from a CDN, which a city's internal
network or a laptop on a train cannot reach; ``swagger_ui_bundle`` ships the same files.
Its Swagger UI (4.x) predates OpenAPI 3.1, which FastAPI writes, so the docs page reads
a 3.0 rendering of the schema; ``/openapi.json`` itself stays 3.1 for clients.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

SWAGGER_PREFIX = "/vendor/swagger-ui"
DOCS_SCHEMA_URL = "/docs/openapi-3.0.json"


def add_docs(app: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` with its assets under ``/vendor/swagger-ui``."""
    app.mount(SWAGGER_PREFIX, StaticFiles(directory=swagger_ui_path), name="swagger-ui")
    title = f"{app.title} API docs"

    @app.get("/docs", include_in_schema=False)
    def get_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=DOCS_SCHEMA_URL,
            title=title,
            swagger_js_url=f"{SWAGGER_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_PREFIX}/favicon-32x32.png",
            # The default validator badge would call validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(DOCS_SCHEMA_URL, include_in_schema=False)
    def get_docs_schema() -> dict[str, Any]:
        schema = build_openapi_30(app.openapi())
        return schema


def build_openapi_30(schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI 3.1 document rewritten as 3.0: ``anyOf [X, null]`` becomes nullable X."""
    converted = _nullable(schema)
    converted["openapi"] = "3.0.3"
    return converted


def _nullable(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable(value) for key, value in node.items()}
    options = node.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [o for o in options if o != {"type": "null"}]
        node.pop("anyOf")
        if len(rest) == 1:
            node = {**rest[0], **node}
        else:
            node["anyOf"] = rest
        node["nullable"] = True
    return node
