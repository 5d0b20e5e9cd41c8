"""A served app over a real socket: a connection that sends no request head in time is
answered 408 and closed, while one that asks in time is served (uvicorn, loopback)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from urbanpulse.api import create_app
from urbanpulse.api.connections import build_timed_protocol
from urbanpulse.settings import Settings
from urbanpulse.store import Lake


@pytest.fixture
def served(test_lake: Lake, tmp_path: Path, app_server: Any) -> Iterator[tuple[str, int]]:
    """The app served over a socket with the product's HTTP protocol (a 1 s head
    timeout), through the suite's one test server (tests/conftest.py: it makes sure the
    server's threads have stopped before the interpreter exits)."""
    settings = Settings(
        lake_path=test_lake.root, access_db=tmp_path / "access.sqlite3",
        header_timeout_seconds=1.0,
    )  # fmt: skip
    with app_server(create_app(settings), http=build_timed_protocol(1.0)) as url:
        host, port = url.removeprefix("http://").split(":")
        yield host, int(port)


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


def test_the_served_protocol_takes_the_setting() -> None:
    from urbanpulse.cli.main import get_server_options

    options = get_server_options(Settings(header_timeout_seconds=3.5))
    assert options["http"].header_timeout == 3.5


def test_a_flood_of_silent_connections_cannot_take_the_last_slot(
    test_lake: Lake, tmp_path: Path, app_server: Any
) -> None:
    # 60 silent connections against a bound of 20, well within a 30 s head timeout:
    # without room made, every slot is held and uvicorn answers the probe 503.
    settings = Settings(lake_path=test_lake.root, access_db=tmp_path / "access.sqlite3")
    protocol = build_timed_protocol(30.0)
    with app_server(create_app(settings), http=protocol, limit_concurrency=20) as url:
        host, port = url.removeprefix("http://").split(":")
        flood = [socket.create_connection((host, int(port)), timeout=10) for _ in range(60)]
        try:
            with socket.create_connection((host, int(port)), timeout=10) as probe:
                probe.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                assert _read_all(probe).startswith(b"HTTP/1.1 200")
            assert _is_closed(flood[0])  # the oldest made room
        finally:
            for sock in flood:
                sock.close()


def _is_closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
