"""A served app over a real socket: a connection that sends no request head in time is
answered 408 and closed, while one that asks in time is served (uvicorn, loopback)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from urbanpulse.api import create_app
from urbanpulse.cli.main import get_server_options
from urbanpulse.settings import Settings
from urbanpulse.store import Lake


@pytest.fixture
def served(test_lake: Lake, tmp_path: Path) -> Iterator[tuple[str, int]]:
    settings = Settings(
        lake_path=test_lake.root, access_db=tmp_path / "access.sqlite3",
        host="127.0.0.1", port=0, header_timeout_seconds=1.0,
    )  # fmt: skip
    options = {**get_server_options(settings), "log_level": "warning"}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        options["port"] = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield "127.0.0.1", options["port"]
    server.should_exit = True
    thread.join(timeout=10)


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(4096):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_silent_or_trickling_connection_is_closed(served: tuple[str, int]) -> None:
    with socket.create_connection(served, timeout=10) as silent:
        answer = _read_all(silent)  # nothing sent: the server closes after 1 s
    assert answer.startswith(b"HTTP/1.1 408")
    with socket.create_connection(served, timeout=10) as slow:
        slow.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")  # never the blank line
        assert _read_all(slow).startswith(b"HTTP/1.1 408")


def test_a_request_in_time_is_served_and_kept_alive(served: tuple[str, int]) -> None:
    with socket.create_connection(served, timeout=10) as client:
        for _ in range(2):  # the second request on the same connection
            client.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            head = client.recv(65536)
            assert head.startswith(b"HTTP/1.1 200"), head[:100]
