"""An API client over the shared test lake, the shared demo lake and a live server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.twin import build_demo, is_demo_built


@pytest.fixture(scope="session")
def client(test_lake: Lake) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(lake_path=test_lake.root))) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def demo_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """One small demo lake (one week, 2026-10-25..31) per test session, shared by files."""
    root = tmp_path_factory.getbasetemp() / "advice-demo"
    lake = Lake(root / "lake")
    if not is_demo_built(lake):
        build_demo(lake, weeks=1, drop_dir=root / "drop")
    return lake


@contextmanager
def serve_app(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free 127.0.0.1 port; yield its base
    URL (as tests/web/conftest.py does, for the tests that need a real event loop)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the test server did not start within 15 s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def live_server() -> Callable[[FastAPI], AbstractContextManager[str]]:
    """:func:`serve_app`, for tests that serve an app of their own."""
    return serve_app
