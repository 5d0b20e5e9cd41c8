"""Body cap, rate limits and quotas, security headers and CORS (api/middleware.py)."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.api.errors import install_error_handlers
from urbanpulse.api.middleware import install_middlewares
from urbanpulse.settings import Settings
from urbanpulse.store import Lake

BIG = 20 * 1024 * 1024


def build_app(lake: Lake, **options: Any) -> FastAPI:
    """Only the error handlers and the middlewares, with a route that reads its body: the
    middlewares alone, whatever the access rules of the full app say."""
    app = FastAPI()
    settings = Settings(lake_path=lake.root, **options)
    install_error_handlers(app)
    install_middlewares(app, settings, namespace=uuid.uuid4().hex)

    @app.post("/test/echo-length")
    async def echo_length(request: Request) -> dict[str, int]:
        return {"length": len(await request.body())}

    return app


def post_raw(base: str, head: str, first: bytes, *, timeout: float = 10.0) -> bytes:
    """Send ``head`` and the start of a body over a socket; return the response (the rest
    of the body is never sent)."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(head.encode() + first)
        response = b""
        while b"\r\n\r\n" not in response or not response.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            response += chunk
        return response


def test_a_20_mb_body_gets_413_at_once_while_health_answers(
    test_lake: Lake, app_server: Callable[[FastAPI], AbstractContextManager[str]]
) -> None:
    app = create_app(Settings(lake_path=test_lake.root))
    with app_server(app) as base:
        health: list[int] = []
        answered = threading.Condition()
        stop = threading.Event()

        def poll() -> None:
            with httpx.Client(base_url=base, timeout=60) as client:
                while not stop.is_set():
                    status = client.get("/api/health").status_code
                    with answered:
                        health.append(status)
                        answered.notify_all()

        def wait_for_health(count: int) -> None:
            with answered:
                answered.wait_for(lambda: len(health) >= count, timeout=120)

        poller = threading.Thread(target=poll)
        poller.start()
        try:
            wait_for_health(1)
            head = (
                "POST /api/advice HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {BIG}\r\n\r\n"
            )
            # Only 64 KiB of the 20 MiB announced is sent: an answer at all shows the
            # server refused at the header instead of waiting for a body never coming.
            response = post_raw(base, head, b"{" + b" " * 65536, timeout=60)
            wait_for_health(len(health) + 1)  # health still answers after the refusal
        finally:
            stop.set()
            poller.join()
    assert response.startswith(b"HTTP/1.1 413 ")
    body = response.split(b"\r\n\r\n", 1)[1]
    assert b'"code":"request_entity_too_large"' in body.replace(b" ", b"")
    assert b"{ " not in body  # the body sent is never echoed
    assert len(health) >= 2 and set(health) == {200}


def test_a_chunked_body_is_cut_at_the_cap(
    test_lake: Lake, app_server: Callable[[FastAPI], AbstractContextManager[str]]
) -> None:
    chunk = b"x" * 65536
    with app_server(build_app(test_lake, max_body_bytes=200_000)) as base:
        head = "POST /test/echo-length HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(8))
        response = post_raw(base, head, body)
        assert response.startswith(b"HTTP/1.1 413 "), response[:200]
        small = httpx.post(f"{base}/test/echo-length", content=b"y" * 1000, timeout=10)
    assert small.json() == {"length": 1000}


def test_content_length_over_the_cap_is_refused_in_the_error_shape(test_lake: Lake) -> None:
    with TestClient(build_app(test_lake, max_body_bytes=10)) as client:
        response = client.post("/test/echo-length", content=b"z" * 11)
        assert response.status_code == 413
        assert response.json()["error"]["detail"] == {"max_bytes": 10}
        assert set(response.json()) == {"error"}
        assert client.post("/test/echo-length", content=b"z" * 10).json() == {"length": 10}


@pytest.mark.parametrize("path", ["/api/health", "/", "/api/nowhere", "/docs", "/commute"])
def test_security_headers_on_every_response(test_lake: Lake, path: str) -> None:
    with TestClient(create_app(Settings(lake_path=test_lake.root))) as client:
        headers = client.get(path).headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "geolocation=()" in headers["permissions-policy"]
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'self'" in policy
    assert ("'unsafe-inline'" in policy.split("script-src")[1].split(";")[0]) == (path == "/docs")


def test_cors_allows_only_configured_origins(test_lake: Lake) -> None:
    with TestClient(build_app(test_lake)) as client:
        closed = client.get("/api/health", headers={"Origin": "https://shop.example"})
    assert "access-control-allow-origin" not in closed.headers
    app = build_app(test_lake, cors_origins=["https://shop.example"])
    with TestClient(app) as client:
        allowed = client.get("/api/health", headers={"Origin": "https://shop.example"})
        other = client.get("/api/health", headers={"Origin": "https://evil.example"})
        preflight = client.options(
            "/api/advice",
            headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
        )
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    assert "access-control-allow-origin" not in other.headers
    assert preflight.status_code == 200
    assert preflight.headers["x-content-type-options"] == "nosniff"
