"""Rate limits and quotas per API key and per anonymous client (api/middleware.py)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from urbanpulse.api.errors import install_error_handlers
from urbanpulse.api.middleware import get_usage, install_middlewares
from urbanpulse.settings import Settings
from urbanpulse.store import Lake

# Counted per day, so that a test never straddles a window's end (except at midnight UTC).
LIMITS: dict[str, Any] = {
    "rate_limit_per_minute": {},
    "quota_per_day": {"public": 3, "business": 5},
}


def build_client(lake: Lake, **options: Any) -> TestClient:
    """Only the error handlers and the middlewares over a few routes: the limits alone,
    whatever the access rules of the full app say. The namespace is the lake's, so two
    clients over one lake are two workers of one deployment."""
    app = FastAPI()
    install_error_handlers(app)
    settings = Settings(lake_path=lake.root, **{**LIMITS, **options})
    install_middlewares(app, settings, namespace=lake.get_id())

    @app.get("/api/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/cities")
    async def cities() -> list[str]:
        return ["110000"]

    @app.get("/test/usage")
    async def usage(request: Request) -> dict[str, Any]:
        return await get_usage(request)

    return TestClient(app)


def require_redis() -> None:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError as exc:
        pytest.skip(
            f"Redis is not reachable on 127.0.0.1:6379 ({exc}); run scripts/ensure-test-tools.sh"
        )


@pytest.fixture
def lake(make_lake: Callable[..., Lake]) -> Lake:
    return make_lake(days=1)


def test_an_anonymous_client_over_its_quota_gets_429_with_retry_after(lake: Lake) -> None:
    with build_client(lake) as client:
        answers = [client.get("/api/cities") for _ in range(4)]
        refused = answers[-1]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[0].headers["x-ratelimit-limit"] == "3"
        assert answers[2].headers["x-ratelimit-remaining"] == "0"
        assert 1 <= int(refused.headers["retry-after"]) <= 86_400
        assert refused.json()["error"]["code"] == "too_many_requests"
        assert refused.json()["error"]["detail"]["scope"] == "public"
        assert refused.headers["x-content-type-options"] == "nosniff"
        # The health check is never limited; an API key counts on its own.
        assert client.get("/api/health").status_code == 200
        keyed = [client.get("/api/cities", headers={"X-API-Key": "k1"}) for _ in range(5)]
        assert {a.status_code for a in keyed} == {200}
        bearer = client.get("/api/cities", headers={"Authorization": "Bearer k1"})
        assert bearer.status_code == 429  # the same key however it is sent
        usage = client.get("/test/usage", headers={"X-API-Key": "k2"}).json()
    assert usage["caller"] == "key" and usage["scope"] == "business"
    assert usage["windows"]["day"]["limit"] == 5
    assert usage["windows"]["day"]["used"] == 1  # reading the usage is a request too
    assert usage["shared"] is False


@pytest.mark.services
def test_workers_share_the_counts_through_redis(lake: Lake) -> None:
    require_redis()
    with (
        build_client(lake, counters_backend="redis") as one,
        build_client(lake, counters_backend="redis") as two,
    ):
        codes = [c.get("/api/cities").status_code for c in (one, two, one, two)]
        usage = two.get("/test/usage", headers={"X-API-Key": "shared"}).json()
    assert codes == [200, 200, 200, 429]
    assert usage["shared"] is True


@pytest.fixture
def stalled_port() -> Iterator[int]:
    """A local server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield server.getsockname()[1]
    server.close()


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.mark.parametrize("kind", ["down", "stalled"])
def test_limits_count_locally_while_redis_fails(
    lake: Lake, kind: str, request: pytest.FixtureRequest
) -> None:
    port = request.getfixturevalue("stalled_port") if kind == "stalled" else closed_port()
    options = {"counters_backend": "redis", "redis_url": f"redis://127.0.0.1:{port}/0"}
    with build_client(lake, **options) as client:
        codes = [client.get("/api/cities").status_code for _ in range(4)]
        usage = client.get("/test/usage", headers={"X-API-Key": "k"}).json()
    assert codes == [200, 200, 200, 429]
    assert usage["shared"] is False
