"""Fixtures of the stream tests: the product-configured Mosquitto, one of a test's own,
and a RabbitMQ node of a test's own with the product's MQTT settings.

``make test`` (scripts/ensure-test-tools.sh) starts Mosquitto with
src/urbanpulse/stream/mosquitto.conf on 127.0.0.1:1884. Without it the broker tests skip
with a reason, except under CI (CI=true), where they fail.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from tests.conftest import get_free_port, is_listening

from urbanpulse.store import Lake
from urbanpulse.store.engine import connect, scan_sql

URBANPULSE = str(Path(sys.executable).with_name("urbanpulse"))
CONF = Path(__file__).parents[2] / "src" / "urbanpulse" / "stream" / "mosquitto.conf"
RABBITMQ_CONF = CONF.with_name("rabbitmq.conf")
TEST_PORT = int(os.environ.get("URBANPULSE_TEST_MQTT_PORT", "1884"))


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


class OwnRabbit:
    """A RabbitMQ node of one test (its own name, ports and data folder) with the MQTT
    plugin and src/urbanpulse/stream/rabbitmq.conf, so the test may SIGKILL it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = get_free_port()
        conf = RABBITMQ_CONF.read_text("utf-8").replace("127.0.0.1:1883", f"127.0.0.1:{self.port}")
        conf += f"listeners.tcp.default = 127.0.0.1:{get_free_port()}\nloopback_users = none\n"
        (folder / "rabbitmq.conf").write_text(conf, "utf-8")
        (folder / "enabled_plugins").write_text("[rabbitmq_mqtt].\n", "utf-8")
        self.env = {
            **os.environ,
            "RABBITMQ_NODENAME": f"urbanpulse-test-{self.port}@localhost",
            "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(folder / "log"),
            "RABBITMQ_DIST_PORT": str(get_free_port()),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["rabbitmq-server"], env=self.env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while not is_listening(self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                log = "\n".join(p.read_text("utf-8", "replace")[-2000:] for p in (self.folder / "log").glob("*.log"))  # fmt: skip
                raise RuntimeError(f"the test's RabbitMQ did not start:\n{log}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the node (the Erlang VM and the scripts that started it): a crash."""
        # The node runs as another user in a session of its own: found by its socket.
        node = _get_listener_pid(self.port)
        if node is not None:
            os.kill(node, signal.SIGKILL)
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
            self.process = None
        deadline = time.monotonic() + 30
        while is_listening(self.port):
            assert time.monotonic() < deadline, "the killed RabbitMQ still listens"
            time.sleep(0.1)


def _get_listener_pid(port: int) -> int | None:
    """The process listening on 127.0.0.1:``port`` (iproute2's ss), or None."""
    found = subprocess.run(
        ["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=False
    ).stdout
    match = re.search(r"pid=(\d+)", found)
    return int(match.group(1)) if match else None


@pytest.fixture
def own_rabbit() -> Iterator[OwnRabbit]:
    """A RabbitMQ node this test starts, kills and restarts."""
    if shutil.which("rabbitmq-server") is None:
        _unavailable("rabbitmq-server is not installed (apt-get install rabbitmq-server)")
    # Started as root, rabbitmq-server runs the node as user 'rabbitmq', who must reach
    # and own its folder (pytest's own folders are private to the user running it).
    folder = Path(tempfile.mkdtemp(prefix="urbanpulse-rabbit-"))
    folder.chmod(0o755)
    if os.getuid() == 0:
        shutil.chown(folder, "rabbitmq")
    rabbit = OwnRabbit(folder)
    for name in ("rabbitmq.conf", "enabled_plugins"):
        if os.getuid() == 0:
            shutil.chown(folder / name, "rabbitmq")
    rabbit.start()
    yield rabbit
    rabbit.kill()
    shutil.rmtree(folder, ignore_errors=True)


def publish(port: int, messages: list[tuple[str, str]], *, client_id: str = "") -> None:
    """Publish with QoS 1 and wait until the broker has every message."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(timeout=60)
    assert all(info.is_published() for info in infos)
    client.disconnect()
    client.loop_stop()


def read(lake: Lake, sql: str) -> list[tuple[Any, ...]]:
    con = connect()
    con.execute(f"CREATE VIEW observations AS {scan_sql(lake, 'observations')}")
    con.execute(f"CREATE VIEW quarantine AS {scan_sql(lake, 'quarantine')}")
    return con.execute(sql).fetchall()


def wait_for(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def start_subscriber(lake: Lake, port: int, topic: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "URBANPULSE_STREAM_MAINTAIN_MINUTES": "0"}
    return subprocess.Popen(
        [
            URBANPULSE,
            "stream",
            "mqtt",
            "--lake", str(lake.root),
            "--port", str(port),
            "--topic", f"{topic}/#",
            "--client-id", "exactly-once",
            "--batch-size", "250",
            "--batch-seconds", "0.2",
            "--allow-new-sites",
            "--json",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env=env,
    )  # fmt: skip


def count_stored(lake: Lake) -> int:
    return read(lake, "SELECT count(*) FROM observations")[0][0]


@pytest.fixture
def subscribers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def build_flow_messages(topic_prefix: str, count: int, sites: int) -> list[tuple[str, str]]:
    """``count`` one-observation messages over ``sites`` sites, each key distinct and
    each value its number, so a sum over the lake tells a lost or doubled one."""
    return [
        (
            f"{topic_prefix}/s{k % sites}",
            json.dumps(
                {"site_id": f"s{k % sites}", "metric": "flow", "ts": 1795996800 + k, "value": k}
            ),
        )
        for k in range(count)
    ]


def assert_stored_once(lake: Lake, count: int) -> None:
    """Every message of :func:`build_flow_messages` is in the lake, and once."""
    keys = read(
        lake, "SELECT count(*), count(DISTINCT (site_id, metric, ts)), sum(value) FROM observations"
    )[0]
    assert keys == (count, count, sum(range(count)))
