"""A live server for browser tests and a folder for their screenshots."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@contextmanager
def serve_app(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free 127.0.0.1 port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # bound before uvicorn starts, so no other test grabs it
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the test server did not start within 15 s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def app_server() -> Callable[[FastAPI], AbstractContextManager[str]]:
    """:func:`serve_app`, for test modules that serve an app over a lake of their own."""
    return serve_app


@pytest.fixture(scope="session")
def live_server(test_lake: Lake) -> Iterator[str]:
    """The app over the shared test lake; yields its base URL."""
    with serve_app(create_app(Settings(lake_path=test_lake.root))) as url:
        yield url


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/ at the repository root (gitignored): screenshots for people."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
