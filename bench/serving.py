"""What the benchmarks that serve the app share: a free loopback port, and waiting for a
started server to answer its health check (imported by the scripts beside it)."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx


def get_free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(server: subprocess.Popen[bytes], base: str, seconds: float) -> None:
    """Return once ``base``/api/health answers 200; stop the server and exit if it does
    not within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"the server did not start within {seconds:.0f} s")
