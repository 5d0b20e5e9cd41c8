"""Fixtures of the stream tests: the product-configured Mosquitto, and one of a test's own.

``make test`` (scripts/ensure-test-tools.sh) starts Mosquitto with
src/urbanpulse/stream/mosquitto.conf on 127.0.0.1:1884. Without it the broker tests skip
with a reason, except under CI (CI=true), where they fail.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

CONF = Path(__file__).parents[2] / "src" / "urbanpulse" / "stream" / "mosquitto.conf"
TEST_PORT = int(os.environ.get("URBANPULSE_TEST_MQTT_PORT", "1884"))


def is_listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _unavailable(reason: str) -> None:
    pytest.skip(f"{reason} (scripts/ensure-test-tools.sh starts it)")


@pytest.fixture
def broker_port() -> int:
    """Port of the shared test broker with the product's settings."""
    if not is_listening(TEST_PORT):
        _unavailable(f"no MQTT broker on 127.0.0.1:{TEST_PORT}: run scripts/ensure-test-tools.sh")
    return TEST_PORT


@pytest.fixture
def topic_prefix() -> str:
    """A topic prefix no other test publishes on."""
    return f"test/{uuid.uuid4().hex[:12]}"


class OwnBroker:
    """A Mosquitto process of one test, with the product's settings and its own
    persistence folder, so the test may stop and restart it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        text = CONF.read_text("utf-8")
        text = text.replace("listener 1883 127.0.0.1", f"listener {self.port} 127.0.0.1")
        text = text.replace(
            "persistence_location /var/lib/mosquitto/", f"persistence_location {folder}/"
        )
        # Started as root, mosquitto would switch to user 'mosquitto', who cannot write
        # its persistence file into this test's private folder.
        text += f"\nuser {getpass.getuser()}\n"
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(text, "utf-8")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if is_listening(self.port):
                return
            time.sleep(0.05)
        raise RuntimeError("the test's mosquitto did not start")

    def stop(self) -> None:
        """Stop it as a service manager would (SIGTERM: it saves its sessions)."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[OwnBroker]:
    """A broker this test starts, stops and restarts."""
    if shutil.which("mosquitto") is None:
        _unavailable("mosquitto is not installed (apt-get install mosquitto)")
    folder = tmp_path / "broker"
    folder.mkdir()
    broker = OwnBroker(folder)
    broker.start()
    yield broker
    broker.stop()
