"""The auth matrix holds every route: each route of the app, called with each scope,
is answered exactly as access/matrix.toml says (0 unexpected allows), and a route the
matrix does not list fails this test by name."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from urbanpulse.access import SCOPES, read_matrix
from urbanpulse.access.matrix import MATRIX_FILE, get_route_key, is_allowed

# Routes that must never open wider than this, whatever the matrix file says.
ADMIN_ONLY = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) /api/(keys|audit|quarantine)\b")
NEVER_ANONYMOUS = re.compile(r"/observations$|/forecast$|^GET /api/operator/|^GET /operator$")


def get_app_routes(app: FastAPI) -> set[str]:
    """Every ``METHOD /path`` the app answers: the OpenAPI document's operations, and
    the routes it leaves out (pages, docs, exports) found by walking the router."""
    keys = {
        get_route_key(method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    for route in app.routes:
        contexts = (
            route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else []
        )
        for context in contexts:
            for method in getattr(context.original_route, "methods", None) or ():
                if method != "HEAD":
                    keys.add(get_route_key(method, context.path_format))
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                keys.add(get_route_key(method, route.path))  # type: ignore[attr-defined]
    return keys


@pytest.fixture(scope="module")
def routes(api_app: FastAPI) -> set[str]:
    return get_app_routes(api_app)


def test_every_route_is_in_the_matrix(routes: set[str]) -> None:
    matrix = read_matrix()
    missing = sorted(routes - set(matrix))
    lines = "\n".join(f'"{key}" = ["public" or the scopes that may call it]' for key in missing)
    assert not missing, f"routes missing from {MATRIX_FILE}:\n{lines}"


def test_the_matrix_names_no_route_that_does_not_exist(routes: set[str]) -> None:
    stale = sorted(set(read_matrix()) - routes)
    assert not stale, f"{MATRIX_FILE} lists routes the app does not have: {stale}"


def test_sensitive_routes_stay_closed() -> None:
    for key, scopes in read_matrix().items():
        if ADMIN_ONLY.match(key):
            assert scopes == {"admin"}, key
        if NEVER_ANONYMOUS.search(key):
            assert "public" not in scopes and "business" not in scopes, key


def fill(template: str) -> str:
    """A concrete path for a template: every parameter becomes 'x'."""
    return re.sub(r"\{[^}]+\}", "x", template)


def call_every_route(
    routes: set[str], client_for: Callable[[str], TestClient]
) -> Iterator[tuple[str, str, int]]:
    for key in sorted(routes):
        method, template = key.split(" ", 1)
        for scope in SCOPES:
            client = client_for(scope)
            response = client.request(method, fill(template), follow_redirects=False)
            yield key, scope, response.status_code


def test_every_route_with_every_scope_answers_as_the_matrix_says(
    routes: set[str], client_for: Callable[[str], TestClient]
) -> None:
    matrix = read_matrix()
    unexpected_allows, unexpected_refusals = [], []
    calls = 0
    for key, scope, status in call_every_route(routes, client_for):
        calls += 1
        refused = status in (401, 403)
        if is_allowed(matrix, key, scope):
            if refused:
                unexpected_refusals.append(f"{key} as {scope}: {status}")
        elif not refused:
            unexpected_allows.append(f"{key} as {scope}: {status}")
        elif scope == "public":
            assert status == 401, f"{key} as anonymous: {status}, expected 401"
        else:
            assert status == 403, f"{key} as {scope}: {status}, expected 403"
    assert calls == len(routes) * len(SCOPES)
    assert not unexpected_allows, "\n".join(["unexpected allows:", *unexpected_allows])
    assert not unexpected_refusals, "\n".join(["unexpected refusals:", *unexpected_refusals])


def test_a_route_missing_from_the_matrix_is_named_and_refused(
    test_lake: Any, tmp_path: Any, grant: Callable[..., dict[str, str]]
) -> None:
    from urbanpulse.api import create_app
    from urbanpulse.settings import Settings

    app = create_app(Settings(lake_path=test_lake.root, access_db=tmp_path / "a.sqlite3"))

    @app.get("/api/new-thing/{thing_id}")
    def new_thing(thing_id: str) -> dict[str, str]:
        return {"thing_id": thing_id}

    assert sorted(get_app_routes(app) - set(read_matrix())) == ["GET /api/new-thing/{thing_id}"]
    # Until it is listed, nobody may call it, not even an admin.
    response = TestClient(app).get("/api/new-thing/1", headers=grant(app, "admin"))
    assert response.status_code == 403
    assert "GET /api/new-thing/{thing_id} is not in the access matrix" in response.text
