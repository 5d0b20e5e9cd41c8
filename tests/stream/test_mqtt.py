"""The MQTT subscriber over a real Mosquitto: every format stored, bad messages in
quarantine, and exactly once through a SIGKILL of the subscriber and a broker restart."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from tests.stream.conftest import (
    OwnBroker,
    assert_stored_once,
    build_flow_messages,
    count_stored,
    publish,
    read,
    start_subscriber,
    wait_for,
)
from typer.testing import CliRunner

from urbanpulse.cli import app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, upsert_sites
from urbanpulse.stream.batches import BatchResult
from urbanpulse.stream.mqtt import StreamOptions, run_mqtt_stream

URBANPULSE = str(Path(sys.executable).with_name("urbanpulse"))


class Running:
    """run_mqtt_stream in a thread, stopped at the end of the test."""

    def __init__(self, lake: Lake, options: StreamOptions) -> None:
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.batches: list[BatchResult] = []
        self.total: BatchResult | None = None
        self.error: BaseException | None = None
        settings = Settings(lake_path=lake.root)

        def run() -> None:
            try:
                self.total = run_mqtt_stream(
                    lake,
                    settings,
                    stop_event=self.stop,
                    options=options,
                    on_batch=lambda r, n: self.batches.append(r),
                    on_ready=self.ready.set,
                )
            except BaseException as exc:
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def finish(self) -> BatchResult:
        self.stop.set()
        self.thread.join(60)
        if self.error:
            raise self.error
        assert self.total is not None
        return self.total


def _options(port: int, topics: tuple[str, ...], **changes: Any) -> StreamOptions:
    return StreamOptions.from_settings(
        Settings(),
        host="127.0.0.1",
        port=port,
        topics=topics,
        client_id=f"test-{time.time_ns()}",
        batch_seconds=0.2,
        **changes,
    )


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    lake = Lake(tmp_path / "lake")
    upsert_sites(
        lake,
        json_sites(
            ["air-1", "road-1", "station-1"], ["air_monitor", "road_sensor", "metro_station"]
        ),
    )
    return lake


def json_sites(ids: list[str], kinds: list[str]) -> Any:
    import pyarrow as pa

    return pa.table({"site_id": ids, "kind": kinds})


def test_every_format_is_stored_and_bad_messages_are_quarantined(
    broker_port: int, topic_prefix: str, lake: Lake
) -> None:
    stream = Running(lake, _options(broker_port, (f"{topic_prefix}/#",)))
    wait_for(stream.ready.is_set)  # a new session has no queue before it subscribes
    single = {"site_id": "air-1", "metric": "pm25", "ts": "2026-11-30T08:00:00+08:00", "value": 35}
    batch = [
        {"site_id": "station-1", "metric": "boardings", "ts": "2026-11-30T00:00:00Z", "value": 120},
        {
            "site_id": "station-1",
            "metric": "load",
            "ts": 1795996800,
            "value": 0.8,
            "unit": "share of capacity",
        },
    ]
    wrapped = {
        "observations": [
            {"site_id": "air-1", "metric": "no2", "ts": "2026-11-30T08:00:00", "value": 41.5}
        ]
    }
    entity = {
        "id": "urn:ngsi-ld:TrafficFlowObserved:road-1",
        "type": "TrafficFlowObserved",
        "intensity": {
            "type": "Property",
            "value": 340,
            "observedAt": "2026-11-30T00:05:00Z",
            "unitCode": "C62",
        },
        "averageVehicleSpeed": {
            "type": "Property",
            "value": 42.5,
            "observedAt": "2026-11-30T00:05:00Z",
            "unitCode": "KMH",
        },
        "laneDirection": {"type": "Property", "value": "forward"},
    }
    bad_items = [
        {"site_id": "nowhere", "metric": "pm25", "ts": "2026-11-30T00:00:00Z", "value": 1},
        {"site_id": "air-1", "metric": "pm25", "ts": "yesterday", "value": 1},
        {"site_id": "air-1", "metric": "pm25", "ts": "2026-11-30T00:10:00Z", "value": -5},
    ]
    publish(
        broker_port,
        [
            (f"{topic_prefix}/air", json.dumps(single)),
            (f"{topic_prefix}/transit", json.dumps(batch)),
            (f"{topic_prefix}/air", json.dumps(wrapped)),
            (f"{topic_prefix}/ngsi", json.dumps(entity)),
            (f"{topic_prefix}/bad", "{not json"),
            (f"{topic_prefix}/bad", json.dumps(bad_items)),
        ],
    )
    wait_for(lambda: sum(b.received + b.quarantined_total for b in stream.batches) >= 10)
    total = stream.finish()
    rows = read(
        lake,
        "SELECT site_id, metric, epoch(ts)::BIGINT, value, unit FROM observations ORDER BY ALL",
    )
    assert rows == [
        ("air-1", "no2", 1795996800, 41.5, None),  # local time (Asia/Shanghai) without offset
        ("air-1", "pm25", 1795996800, 35.0, None),
        ("road-1", "flow", 1795997100, 340.0, "vehicles"),
        ("road-1", "speed", 1795997100, 42.5, "km/h"),
        ("station-1", "boardings", 1795996800, 120.0, None),
        ("station-1", "load", 1795996800, 0.8, "share of capacity"),
    ]
    quarantined = read(
        lake, "SELECT source, line, column_name, reason FROM quarantine ORDER BY line NULLS FIRST"
    )
    source = f"mqtt://127.0.0.1:{broker_port}/{topic_prefix}/bad"
    assert quarantined == [
        (source, None, None, "bad JSON: Expecting property name enclosed in double quotes"),
        (source, 1, "site_id", "unknown site"),
        (source, 2, "ts", "unparseable time"),
        (source, 3, "value", "below minimum 0.0"),
    ]
    assert total.stored == 6 and total.quarantined_total == 4


def test_messages_are_acknowledged_only_after_commit(
    broker_port: int, topic_prefix: str, lake: Lake
) -> None:
    # A subscriber that commits, then is replaced by one with the same client id: the
    # second receives nothing again, since every committed message was acknowledged.
    options = _options(broker_port, (f"{topic_prefix}/#",))
    first = Running(lake, options)
    wait_for(first.ready.is_set)
    messages = [
        (
            f"{topic_prefix}/air",
            json.dumps({"site_id": "air-1", "metric": "pm25", "ts": k * 60, "value": k}),
        )
        for k in range(1, 301)
    ]
    publish(broker_port, messages)
    wait_for(lambda: sum(b.stored for b in first.batches) >= 300)
    first.finish()
    second = Running(lake, options)
    time.sleep(2.0)
    assert second.finish().received == 0


def test_sigkill_and_broker_restart_store_every_message_exactly_once(
    own_broker: OwnBroker,
    topic_prefix: str,
    tmp_path: Path,
    subscribers: list[subprocess.Popen[bytes]],
) -> None:
    lake = Lake(tmp_path / "exactly-once")
    log = tmp_path / "subscriber.log"
    n = 6000
    messages = build_flow_messages(topic_prefix, n, sites=7)
    # The session exists before anything is published: messages wait for it from then on.
    subscribers.append(start_subscriber(lake, own_broker.port, topic_prefix, log))
    wait_for(lambda: b'"subscribed"' in log.read_bytes(), 60)
    publish(own_broker.port, messages[: n // 3])
    wait_for(lambda: lake.version > 0)
    subscribers[0].send_signal(signal.SIGKILL)  # mid-stream: some batches committed, some not
    subscribers[0].wait()
    killed_at = count_stored(lake)
    publish(own_broker.port, messages[n // 3 : 2 * n // 3])  # queued while it is down
    subscribers.append(start_subscriber(lake, own_broker.port, topic_prefix, log))
    wait_for(lambda: count_stored(lake) > killed_at)
    own_broker.stop()  # mid-stream again: the broker saves its queue and sessions
    restarted_at = count_stored(lake)
    own_broker.start()
    publish(own_broker.port, messages[2 * n // 3 :])
    wait_for(lambda: count_stored(lake) >= n, 120)
    time.sleep(1.0)  # a redelivery in flight would show up as a duplicate now
    subscribers[1].send_signal(signal.SIGTERM)
    assert subscribers[1].wait(30) == 0
    assert 0 < killed_at < n and restarted_at < n
    assert_stored_once(lake, n)
    totals = [
        json.loads(line)["total"] for line in log.read_text().splitlines() if '"total"' in line
    ]
    assert totals and totals[-1]["quarantined_total"] == 0


def test_no_broker_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["stream", "mqtt", "--lake", str(tmp_path / "lake"), "--port", "1", "--json"]
    )
    assert result.exit_code == 2
    assert "no MQTT broker at 127.0.0.1:1" in result.output
    assert "Traceback" not in result.output
