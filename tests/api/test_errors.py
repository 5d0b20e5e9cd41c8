"""Every error response has one JSON shape; status codes follow api/errors.py."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.api.errors import get_error_status
from urbanpulse.errors import (
    ConfigurationError,
    InvalidQueryError,
    LakeError,
    LakeLockedError,
    NotFoundError,
    UrbanPulseError,
)
from urbanpulse.settings import Settings
from urbanpulse.store import Lake


def assert_error(response, status: int, code: str) -> dict:
    """The pinned shape: exactly {"error": {"code", "message", "detail"}}."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "detail"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/api/sites/no-such-site", 404, "not_found"),
        ("/api/sites/no-such-site/observations?metric=pm25", 404, "not_found"),
        ("/api/sites/tj-air-1/observations?metric=no_such_metric", 404, "not_found"),
        ("/api/sites/tj-air-1/profile?metric=no_such_metric", 404, "not_found"),
        ("/api/sites?city=Atlantis", 404, "not_found"),
        ("/api/no-such-route", 404, "not_found"),
        ("/api/sites/tj-air-1/profile?metric=pm25&period=7", 422, "validation_error"),
        ("/api/sites/tj-air-1/observations?metric=pm25&start=yesterday", 422, "validation_error"),
        ("/api/sites/tj-air-1/observations?metric=pm25&limit=0", 422, "validation_error"),
        ("/api/sites/tj-air-1/observations", 422, "validation_error"),
        ("/api/sites?kind=spaceport", 400, "invalid_query"),
        (
            "/api/sites/tj-air-1/observations?metric=pm25"
            "&start=2026-03-05T00:00:00%2B08:00&end=2026-03-04T00:00:00%2B08:00",
            400,
            "invalid_query",
        ),
    ],
)
def test_error_shape(government_client: TestClient, url: str, status: int, code: str) -> None:
    # Government may call every route here, so the error is the route's own.
    assert_error(government_client.get(url), status, code)


def test_validation_error_names_the_parameter(client: TestClient) -> None:
    error = assert_error(
        client.get("/api/sites/tj-air-1/profile?metric=pm25&period=7"), 422, "validation_error"
    )
    assert "period" in error["message"]
    assert error["detail"][0]["loc"] == ["query", "period"]


def test_unknown_metric_lists_the_known_ones(government_client: TestClient) -> None:
    client = government_client
    error = assert_error(
        client.get("/api/sites/bj-metro-1/observations?metric=speed"), 404, "not_found"
    )
    assert "passengers" in error["message"] and "pm25" in error["message"]


def test_wrong_method_has_the_same_shape(client: TestClient) -> None:
    assert_error(client.post("/api/cities"), 405, "method_not_allowed")


def test_unexpected_error_is_500_without_internals(test_lake: Lake) -> None:
    app = create_app(Settings(lake_path=test_lake.root))

    @app.get("/api/boom")
    def boom() -> None:
        raise RuntimeError("secret connection string")

    app.state.access.allow("GET /api/boom", "public")

    with TestClient(app, raise_server_exceptions=False) as client:
        error = assert_error(client.get("/api/boom"), 500, "internal_error")
    assert "secret" not in error["message"]


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFoundError("x"), 404),
        (InvalidQueryError("x"), 400),
        (LakeLockedError("x"), 503),
        (LakeError("x"), 500),
        (ConfigurationError("x"), 500),
        (UrbanPulseError("x"), 500),
        (RuntimeError("x"), 500),
    ],
)
def test_status_mapping(error: Exception, status: int) -> None:
    assert get_error_status(error)[0] == status


def test_pages_get_html_errors_and_api_gets_json(client: TestClient) -> None:
    page = client.get("/sites/no-such-site", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "no-such-site" in page.text
    api = client.get("/api/sites/no-such-site", headers={"accept": "text/html"})
    assert_error(api, 404, "not_found")
