"""The demo city cluster, live: its observations replayed with fresh timestamps.

:func:`replay_demo` walks the demo's 5-minute steps at ``speed`` times real time,
starting at the demo's last week at the same weekday and time of day as now (so the
morning peak is replayed in the morning), and hands each step's readings, stamped with
the moment they are sent, to a *sink*:

* :class:`MqttSink` publishes them to an MQTT broker, one JSON batch per metric and
  step on ``<prefix>/<metric>`` (QoS 1): a JSON array of observations
  ``{"site_id", "metric", "ts", "value", "unit"}`` with ``ts`` in ISO 8601 UTC, for a
  subscriber to commit to the lake;
* :class:`LakeSink` appends them straight to the lake, in-process, where no broker
  answers.

When the source runs past the demo's last reading, it starts again a week earlier.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import pandas as pd
import pyarrow as pa

from urbanpulse.errors import UrbanPulseError
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, append_observations, read_observations
from urbanpulse.twin.calendar import TIMEZONE

# The demo's 5-minute metrics: crowding (load, each direction's load, boardings) and road
# traffic.
REPLAY_METRICS = ("load", "load_up", "load_down", "boardings", "flow", "speed")
STEP = timedelta(minutes=5)
WEEK = timedelta(days=7)
CHUNK = timedelta(hours=1)  # source read from the lake an hour at a time
REPLAY_OPERATION = "live_replay"
TOPIC_PREFIX = "urbanpulse/demo"


class BrokerUnreachableError(ConnectionError, UrbanPulseError):
    """No MQTT broker answered at the configured host and port."""


class Sink(Protocol):
    """Where replayed readings go."""

    name: str

    def send(self, rows: pa.Table) -> int:
        """Deliver one step's readings; return how many messages were sent."""
        ...

    def close(self) -> None:
        """Flush and release what the sink holds."""
        ...


@dataclass
class ReplaySummary:
    """What a replay sent."""

    sink: str
    source_start: datetime
    steps: int = 0
    messages: int = 0
    observations: int = 0


class LakeSink:
    """Appends each step to the lake (in-process replay, no broker)."""

    name = "lake"

    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    def send(self, rows: pa.Table) -> int:
        append_observations(self.lake, rows, operation=REPLAY_OPERATION)
        return 1

    def close(self) -> None:
        return None


class MqttSink:
    """Publishes each step to an MQTT broker, one JSON batch per metric (QoS 1).

    Raises
    ------
    BrokerUnreachableError
        When no broker accepts the connection within ``timeout`` seconds.
    """

    name = "mqtt"

    def __init__(
        self, host: str, port: int, *, topic_prefix: str = TOPIC_PREFIX, timeout: float = 3.0
    ) -> None:
        import paho.mqtt.client as mqtt

        self.topic_prefix = topic_prefix
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"urbanpulse-replay-{time.time_ns()}"
        )
        connected = threading.Event()
        self.client.on_connect = lambda client, userdata, flags, reason, props: connected.set()
        try:
            self.client.connect(host, port, keepalive=30)
        except OSError as exc:
            raise BrokerUnreachableError(
                f"no MQTT broker at {host}:{port} ({exc.strerror or exc})"
            ) from None
        self.client.loop_start()
        if not connected.wait(timeout):
            self.client.loop_stop()
            raise BrokerUnreachableError(f"the MQTT broker at {host}:{port} did not answer")

    def send(self, rows: pa.Table) -> int:
        frame = rows.to_pandas()
        frame["ts"] = pd.DatetimeIndex(frame["ts"]).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        infos = []
        for metric, part in frame.groupby("metric", sort=True):
            payload = json.dumps(part.to_dict("records"), ensure_ascii=False)
            infos.append(self.client.publish(f"{self.topic_prefix}/{metric}", payload, qos=1))
        for info in infos:
            info.wait_for_publish(timeout=10)
        return len(infos)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def get_source_start(lake: Lake, now: datetime) -> datetime:
    """The demo's moment a week (or whole weeks) before ``now`` with data after it: same
    weekday and time of day, on the 5-minute grid."""
    last = _read_last_ts(lake)
    if last is None:
        raise UrbanPulseError(
            "the lake holds no demo observations to replay: run 'urbanpulse demo'"
        )
    grid = pd.Timestamp(now).tz_convert("UTC").floor("5min").to_pydatetime()
    weeks = max(1, math.ceil((grid - last) / WEEK))
    return grid - weeks * WEEK


def replay_demo(
    lake: Lake,
    sink: Sink,
    *,
    speed: float,
    start: datetime | None = None,
    stop: threading.Event | None = None,
    max_steps: int | None = None,
    metrics: tuple[str, ...] = REPLAY_METRICS,
    clock: Callable[[], datetime] | None = None,
) -> ReplaySummary:
    """Replay the demo's observations into ``sink`` at ``speed`` times real time.

    Parameters
    ----------
    lake
        The lake holding the demo (its observations are the source).
    sink
        :class:`MqttSink` or :class:`LakeSink` (or any :class:`Sink`).
    speed
        Source time per real time: 60 sends a 5-minute step every 5 seconds.
    start
        First source moment (default: :func:`get_source_start` of now).
    stop
        Set it to end the replay after the current step.
    max_steps
        End after this many steps (default: until ``stop`` is set).
    clock
        The time readings are stamped with (default: the real clock, UTC).

    Returns
    -------
    ReplaySummary
        Steps, messages and observations sent.
    """
    if speed <= 0:
        raise ValueError("speed must be positive")
    now = clock or (lambda: datetime.now(UTC))
    source = start or get_source_start(lake, now())
    summary = ReplaySummary(sink=sink.name, source_start=source)
    stop = stop or threading.Event()
    began = time.monotonic()
    last_ts = pd.Timestamp(0, tz="UTC")
    for step, rows in enumerate(_iter_steps(lake, source, metrics)):
        if stop.is_set() or (max_steps is not None and step >= max_steps):
            break
        # Each step at its place on the accelerated clock, never bunched after a delay.
        if stop.wait(max(0.0, began + step * STEP.total_seconds() / speed - time.monotonic())):
            break
        stamp = max(pd.Timestamp(now()).tz_convert("UTC"), last_ts + pd.Timedelta(microseconds=1))
        last_ts = stamp
        if rows.num_rows:
            fresh = rows.set_column(
                rows.schema.get_field_index("ts"),
                "ts",
                pa.array([stamp] * rows.num_rows, pa.timestamp("us", tz="UTC")),
            )
            summary.messages += sink.send(fresh)
            summary.observations += rows.num_rows
        summary.steps += 1
    return summary


def _iter_steps(lake: Lake, source: datetime, metrics: tuple[str, ...]) -> Iterator[pa.Table]:
    """Each 5-minute step's readings from ``source`` on, wrapping a week back at the end."""
    last = _read_last_ts(lake)
    moment = pd.Timestamp(source).tz_convert("UTC")
    chunk, chunk_start = None, None
    while True:
        if last is not None and moment > pd.Timestamp(last):
            moment -= pd.Timedelta(WEEK)
        if chunk is None or not chunk_start <= moment < chunk_start + pd.Timedelta(CHUNK):
            chunk, chunk_start = _read_chunk(lake, moment, metrics), moment
        yield chunk[chunk["ts"] == moment].drop(columns="ts").assign(ts=moment).pipe(_to_arrow)
        moment += pd.Timedelta(STEP)


def _read_chunk(lake: Lake, start: pd.Timestamp, metrics: tuple[str, ...]) -> pd.DataFrame:
    end = start + pd.Timedelta(CHUNK)
    parts = [
        read_observations(lake, m, start=start.to_pydatetime(), end=end.to_pydatetime())
        for m in metrics
    ]
    frame = pd.concat(parts, ignore_index=True)
    frame["ts"] = pd.DatetimeIndex(frame["ts"]).tz_convert("UTC").floor("5min")
    return frame


def _to_arrow(frame: pd.DataFrame) -> pa.Table:
    table = pa.table(
        {
            "site_id": pa.array(frame["site_id"].astype(str), pa.string()),
            "metric": pa.array(frame["metric"].astype(str), pa.string()),
            "ts": pa.array(pd.DatetimeIndex(frame["ts"]), pa.timestamp("us", tz="UTC")),
            "value": pa.array(frame["value"].astype(float), pa.float64()),
            "unit": pa.array(frame["unit"].astype(str), pa.string()),
        }
    )
    return table


def _read_last_ts(lake: Lake) -> datetime | None:
    """Latest demo reading of the replayed metrics that is not itself a replay."""
    for entry in reversed(lake.get_history()):
        demo = (entry.get("info") or {}).get("demo")
        if demo:
            # The demo's days are local days of the twin's zone; its last step ends them.
            end = pd.Timestamp(demo["last_day"]).tz_localize(TIMEZONE) + pd.Timedelta(days=1)
            return (end - pd.Timedelta(STEP)).tz_convert("UTC").to_pydatetime()
    return None


class LiveReplay:
    """A replay running in a background thread, as ``urbanpulse demo --live`` starts it."""

    def __init__(self, lake: Lake, sink: Sink, *, speed: float, max_steps: int | None) -> None:
        self.sink = sink
        self.stop_event = threading.Event()
        self.summary: ReplaySummary | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(
            target=self._run, args=(lake, speed, max_steps), name="demo-live-replay", daemon=True
        )

    def _run(self, lake: Lake, speed: float, max_steps: int | None) -> None:
        try:
            self.summary = replay_demo(
                lake, self.sink, speed=speed, stop=self.stop_event, max_steps=max_steps
            )
        except BaseException as exc:  # kept for the caller: a thread cannot raise to it
            self.error = exc
        finally:
            self.sink.close()

    def start(self) -> LiveReplay:
        self.thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> ReplaySummary | None:
        """Ask the replay to end after its current step and wait for it."""
        self.stop_event.set()
        return self.join(timeout)

    def join(self, timeout: float | None = None) -> ReplaySummary | None:
        self.thread.join(timeout)
        if self.error is not None:
            raise self.error
        return self.summary


SubscriberStarter = Callable[..., object]


def get_subscriber_starter() -> SubscriberStarter | None:
    """The MQTT subscriber's in-process entry point, when this tree has one.

    The one call ``start_subscriber(lake, host, port, stop, settings=, topic_prefix=)`` from
    ``urbanpulse.stream.mqtt`` must start a subscriber of ``TOPIC_PREFIX/#`` committing to
    ``lake`` in a background thread, ending when ``stop`` is set.
    """
    try:
        from urbanpulse.stream import mqtt as stream_mqtt  # type: ignore[attr-defined]
    except ImportError:
        return None
    starter = getattr(stream_mqtt, "start_subscriber", None)
    return starter if callable(starter) else None


def start_live_replay(
    lake: Lake,
    *,
    settings: Settings,
    host: str,
    port: int,
    speed: float,
    max_steps: int | None = None,
) -> tuple[LiveReplay, str]:
    """Start replaying the demo: through the broker to the subscriber when both are there,
    else straight into the lake. Returns the running replay and one line saying which.
    """
    starter = get_subscriber_starter()
    sink: Sink
    try:
        sink = MqttSink(host, port)
    except BrokerUnreachableError as exc:
        sink = LakeSink(lake)
        how = f"{exc}: replaying in-process straight into the lake instead"
    else:
        if starter is None:
            sink.close()
            sink = LakeSink(lake)
            how = (
                f"MQTT broker at {host}:{port}, but no MQTT subscriber in this install: "
                "replaying in-process straight into the lake instead"
            )
        else:
            replay = LiveReplay(lake, sink, speed=speed, max_steps=max_steps)
            try:
                starter(
                    lake,
                    host,
                    port,
                    replay.stop_event,
                    settings=settings,
                    topic_prefix=TOPIC_PREFIX,
                )
            except (ConnectionError, UrbanPulseError) as exc:
                sink.close()
                sink = LakeSink(lake)
                how = (
                    f"the MQTT subscriber could not start ({exc}): replaying in-process "
                    "straight into the lake instead"
                )
            else:
                how = (
                    f"replaying into the MQTT broker at {host}:{port} ({TOPIC_PREFIX}/#), "
                    "its subscriber committing to the lake"
                )
                return replay.start(), f"live demo at {speed:g}x: {how}"
    replay = LiveReplay(lake, sink, speed=speed, max_steps=max_steps)
    return replay.start(), f"live demo at {speed:g}x: {how}"
