"""The live demo: the demo's observations replayed with fresh timestamps, into the lake
when no broker answers (``urbanpulse demo --live``) or through a real MQTT broker."""

from __future__ import annotations

import json
import shutil
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from urbanpulse.advise.live import LiveCrowding
from urbanpulse.cli import app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, read_observations
from urbanpulse.twin.lines import BUS_LINES, METRO_LINES
from urbanpulse.twin.replay import (
    REPLAY_METRICS,
    REPLAY_OPERATION,
    STEP,
    TOPIC_PREFIX,
    BrokerUnreachableError,
    LakeSink,
    MqttSink,
    get_source_start,
    replay_demo,
)

BROKER = ("127.0.0.1", 1883)


@pytest.fixture
def lake_copy(demo_lake: Lake, tmp_path: Path) -> Lake:
    """A copy of the session's demo lake (one week to 2026-10-31) to replay into."""
    shutil.copytree(demo_lake.root, tmp_path / "lake", ignore=shutil.ignore_patterns("_advice"))
    return Lake(tmp_path / "lake")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


def test_demo_live_without_a_broker_replays_into_the_lake_and_says_so(lake_copy: Lake) -> None:
    port = _closed_port()
    started = datetime.now(UTC)
    result = CliRunner().invoke(
        app,
        ["demo", "--lake", str(lake_copy.root), "--live", "--no-serve",
         "--speed", "100000", "--steps", "3"],
        env={"URBANPULSE_MQTT_PORT": str(port), "URBANPULSE_MQTT_HOST": "127.0.0.1"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    said = [line for line in lines if line.startswith("live demo at 100000x:")]
    assert len(said) == 1
    assert f"no MQTT broker at 127.0.0.1:{port}" in said[0]
    assert "replaying in-process straight into the lake instead" in said[0]
    assert any(line.startswith("replayed 3 steps (") for line in lines)

    lake = Lake(lake_copy.root)
    replays = [e for e in lake.get_history() if e["operation"] == REPLAY_OPERATION]
    assert len(replays) == 3
    fresh = read_observations(lake, "load", start=started - timedelta(seconds=1))
    assert fresh["site_id"].nunique() > 100  # every metro station reports each step
    assert fresh["ts"].nunique() == 3 and fresh["ts"].min() >= pd.Timestamp(started)
    # The live view sees it as now.
    snapshot = LiveCrowding(lake, Settings(lake_path=lake.root)).get_snapshot()
    # every metro line and bus line: the demo's trains and buses report their load
    assert snapshot["stale"] is False and len(snapshot["lines"]) == len(METRO_LINES) + len(
        BUS_LINES
    )
    assert {line["mode"] for line in snapshot["lines"]} == {"metro", "bus"}
    assert pd.Timestamp(snapshot["last_reading"]) >= pd.Timestamp(started).floor("s")


def test_the_source_is_the_same_weekday_and_time_of_day_as_now(lake_copy: Lake) -> None:
    now = datetime(2026, 11, 30, 0, 7, 31, tzinfo=UTC)  # a Monday, 08:07 in Beijing
    start = get_source_start(lake_copy, now)
    assert (pd.Timestamp(now).floor("5min") - pd.Timestamp(start)) % pd.Timedelta(
        days=7
    ) == pd.Timedelta(0)
    assert pd.Timestamp(start) <= pd.Timestamp("2026-10-31T16:00Z")  # inside the demo
    rows = read_observations(lake_copy, "load", start=start, end=start + STEP)
    assert len(rows) > 100


def test_a_replay_past_the_demo_s_end_continues_a_week_earlier(lake_copy: Lake) -> None:
    last_step = datetime(2026, 10, 31, 15, 55, tzinfo=UTC)  # 23:55 on the demo's last day
    stamps = iter(datetime(2026, 11, 30, 1, m, tzinfo=UTC) for m in range(10))
    summary = replay_demo(
        lake_copy, LakeSink(lake_copy), speed=1e6, start=last_step, max_steps=3,
        clock=lambda: next(stamps),
    )  # fmt: skip
    assert summary.steps == 3 and summary.observations > 0
    fresh = read_observations(lake_copy, "boardings", start=datetime(2026, 11, 30, tzinfo=UTC))
    assert fresh["ts"].nunique() == 3


def test_a_closed_port_is_no_broker() -> None:
    with pytest.raises(BrokerUnreachableError, match=r"no MQTT broker at 127\.0\.0\.1:"):
        MqttSink("127.0.0.1", _closed_port())


@pytest.mark.services
def test_replay_publishes_json_batches_to_a_real_broker(lake_copy: Lake) -> None:
    import paho.mqtt.client as mqtt

    try:
        sink = MqttSink(*BROKER)
    except BrokerUnreachableError as exc:
        pytest.skip(str(exc))
    received: list[tuple[str, list[dict[str, object]]]] = []
    subscribed, done = threading.Event(), threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_subscribe = lambda *args: subscribed.set()

    def on_message(client: object, userdata: object, message: mqtt.MQTTMessage) -> None:
        received.append((message.topic, json.loads(message.payload)))
        if len(received) == 2 * len(REPLAY_METRICS):
            done.set()

    client.on_message = on_message
    client.connect(*BROKER)
    client.subscribe(f"{TOPIC_PREFIX}/#", qos=1)
    client.loop_start()
    try:
        assert subscribed.wait(10)
        summary = replay_demo(lake_copy, sink, speed=1e6, max_steps=2)
        sink.close()
        assert done.wait(20), f"received {len(received)} of {2 * len(REPLAY_METRICS)} messages"
    finally:
        client.loop_stop()
        client.disconnect()
    assert summary.messages == 2 * len(REPLAY_METRICS)  # 2 steps, a batch per metric
    topics = sorted({topic for topic, _ in received})
    assert topics == [f"{TOPIC_PREFIX}/{m}" for m in sorted(REPLAY_METRICS)]
    batch = next(payload for topic, payload in received if topic.endswith("/load"))
    assert set(batch[0]) == {"site_id", "metric", "ts", "value", "unit"}
    assert all(row["metric"] == "load" for row in batch)
    stamp = pd.Timestamp(str(batch[0]["ts"]))
    assert abs(pd.Timestamp.now(tz="UTC") - stamp) < pd.Timedelta(minutes=1)
    # Nothing went into the lake: the broker's subscriber commits it.
    assert not [e for e in lake_copy.get_history() if e["operation"] == REPLAY_OPERATION]


@pytest.mark.services
def test_demo_live_flows_broker_to_subscriber_to_lake(lake_copy: Lake) -> None:
    import time

    from urbanpulse.twin.replay import get_subscriber_starter, start_live_replay

    if get_subscriber_starter() is None:
        pytest.skip("this install has no MQTT subscriber (urbanpulse.stream.mqtt)")
    try:
        MqttSink(*BROKER).close()
    except BrokerUnreachableError as exc:
        pytest.skip(str(exc))
    started = datetime.now(UTC)
    settings = Settings(lake_path=lake_copy.root)
    replay, how = start_live_replay(
        lake_copy, settings=settings, host=BROKER[0], port=BROKER[1], speed=1e6, max_steps=2
    )
    try:
        assert "its subscriber committing to the lake" in how
        summary = replay.join(30)
        assert summary is not None and summary.steps == 2
        deadline = time.monotonic() + 60
        stored = 0
        while time.monotonic() < deadline and stored < summary.observations:
            stored = sum(
                len(read_observations(Lake(lake_copy.root), m, start=started))
                for m in REPLAY_METRICS
            )
            time.sleep(0.5)
    finally:
        replay.stop_event.set()
    assert stored == summary.observations  # every replayed reading, once
    snapshot = LiveCrowding(Lake(lake_copy.root), Settings(lake_path=lake_copy.root)).get_snapshot()
    assert snapshot["stale"] is False
