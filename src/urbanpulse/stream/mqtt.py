"""The MQTT subscriber: messages from a broker into the lake, acknowledged after commit.

Delivery is at least once and storage exactly once:

* QoS 1 on a persistent session (a fixed client id, ``clean_session`` off), so messages
  published while UrbanPulse or the broker is down wait in the broker's session;
* manual acknowledgement (paho's ``manual_ack``): a message is acknowledged only after
  the micro-batch holding it is committed to the lake, so a crash before the commit
  leaves it unacknowledged and the broker delivers it again;
* a message delivered again stores nothing twice: keys (site_id, metric, ts) already in
  the lake are skipped by the commit;
* messages received on a connection that has since dropped are not acknowledged on the
  new one (their packet ids may name other messages there); the broker resends them.

The broker must let a subscriber hold a micro-batch of unacknowledged messages and
queue what arrives while it falls behind: ``stream/mosquitto.conf`` has the settings.

Entry points: :func:`run_mqtt_stream` (blocks until its stop event is set, e.g. by
SIGTERM in ``urbanpulse stream mqtt``) and :func:`start_subscriber` (the same in a
background thread, for ``urbanpulse demo --live``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from urbanpulse.errors import UrbanPulseError
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.stream.batches import BatchResult, SiteBook, commit_items
from urbanpulse.stream.payloads import Items, decode_json

OPERATION = "stream_mqtt"
# A micro-batch is committed early once the broker has sent nothing for this long.
IDLE_S = 0.05


class BrokerError(ConnectionError, UrbanPulseError):
    """The MQTT broker cannot be reached or refused the subscriber."""


@dataclass(frozen=True)
class StreamOptions:
    """How the subscriber connects and batches (from the settings, see ``Settings``)."""

    host: str
    port: int
    topics: tuple[str, ...]
    client_id: str
    batch_size: int
    batch_seconds: float
    allow_new_sites: bool
    timezone: str
    maintain_seconds: float = 0.0
    connect_timeout: float = 5.0

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> StreamOptions:
        """Options of ``settings``, with any field replaced by a non-None override."""
        options = cls(
            host=settings.mqtt_host,
            port=settings.mqtt_port,
            topics=tuple(settings.mqtt_topics),
            client_id=settings.mqtt_client_id,
            batch_size=settings.stream_batch_size,
            batch_seconds=settings.stream_batch_seconds,
            allow_new_sites=settings.stream_allow_new_sites,
            timezone=settings.local_timezone,
            maintain_seconds=settings.stream_maintain_minutes * 60,
        )
        return replace(options, **{k: v for k, v in overrides.items() if v is not None})


@dataclass(slots=True)
class _Received:
    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int


class _Inbox:
    """Messages the network thread received, handed to the committing thread in batches."""

    def __init__(self) -> None:
        self.messages: list[_Received] = []
        self.ready = threading.Condition()
        self.generation = 0
        self.connected = threading.Event()
        self.refused: str | None = None
        self.last_arrival = 0.0

    def take(self, size: int, seconds: float, stop: threading.Event) -> list[_Received]:
        """Wait until ``size`` messages are in, ``seconds`` passed, ``stop`` is set or
        the broker paused for IDLE_S after some messages; return up to ``size``.

        The pause matters on a broker that lets few messages be unacknowledged (20 in
        Mosquitto's default settings): it sends no more until these are committed."""
        deadline = time.monotonic() + seconds
        with self.ready:
            while len(self.messages) < size and not stop.is_set():
                now = time.monotonic()
                left = deadline - now
                if left <= 0 or (self.messages and now - self.last_arrival > IDLE_S):
                    break
                self.ready.wait(min(left, IDLE_S if self.messages else 0.2))
            taken, self.messages = self.messages[:size], self.messages[size:]
        return taken


BatchCallback = Callable[[BatchResult, int], None]


def run_mqtt_stream(
    lake: Lake,
    settings: Settings,
    *,
    stop_event: threading.Event,
    options: StreamOptions | None = None,
    on_batch: BatchCallback | None = None,
    on_ready: Callable[[], None] | None = None,
) -> BatchResult:
    """Subscribe and commit micro-batches to ``lake`` until ``stop_event`` is set.

    Parameters
    ----------
    settings
        Broker, topics, client id, batch size and time, new sites, time zone and upkeep
        (``options`` overrides them).
    stop_event
        Set it to end: the open micro-batch is committed and acknowledged first.
    on_batch
        Called after each commit with its result and the number of messages in it.
    on_ready
        Called once connected and subscribed (the broker keeps messages for the
        session from then on).

    Returns
    -------
    BatchResult
        Totals of every micro-batch: received, stored, duplicates, quarantined.

    Raises
    ------
    BrokerError
        No broker answered at the start, or it refused the connection.
    """
    options = options or StreamOptions.from_settings(settings)
    inbox = _Inbox()
    client = _connect(options, inbox)
    if on_ready is not None:
        on_ready()
    total = BatchResult()
    sites = SiteBook()
    source = f"mqtt://{options.host}:{options.port}/"
    last_upkeep = time.monotonic()
    try:
        while True:
            stopping = stop_event.is_set()
            batch = inbox.take(options.batch_size, options.batch_seconds, stop_event)
            if batch:
                result = _commit(lake, batch, options, sites, source)
                _acknowledge(client, batch, inbox.generation)
                total.add(result)
                if on_batch is not None:
                    on_batch(result, len(batch))
            if stopping and not batch:
                break
            if (
                options.maintain_seconds
                and time.monotonic() - last_upkeep > options.maintain_seconds
            ):
                _maintain(lake, settings)
                last_upkeep = time.monotonic()
    finally:
        client.disconnect()
        client.loop_stop()
    return total


def start_subscriber(
    lake: Lake,
    host: str,
    port: int,
    stop: threading.Event,
    *,
    settings: Settings,
    topic_prefix: str,
) -> threading.Thread:
    """Run :func:`run_mqtt_stream` in a background thread until ``stop`` is set, on the
    topics under ``topic_prefix`` (the demo's, for ``urbanpulse demo --live``). Raises
    :class:`BrokerError` at once when no broker answers."""
    options = StreamOptions.from_settings(
        settings,
        host=host,
        port=port,
        topics=(f"{topic_prefix}/#",),
        client_id=f"{settings.mqtt_client_id}-demo",
    )
    # Connect here, so that a broker that is not there is told to the caller.
    _connect(options, _Inbox()).disconnect()
    thread = threading.Thread(
        target=run_mqtt_stream,
        args=(lake, settings),
        kwargs={"stop_event": stop, "options": options},
        name="mqtt-subscriber",
        daemon=True,
    )
    thread.start()
    return thread


def _connect(options: StreamOptions, inbox: _Inbox) -> Any:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=options.client_id,
        clean_session=False,
        protocol=mqtt.MQTTv311,
        manual_ack=True,
    )
    client.reconnect_delay_set(min_delay=1, max_delay=5)
    topics = [(topic, 1) for topic in options.topics]

    def on_connect(client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            inbox.refused = str(reason)
            return
        with inbox.ready:
            inbox.generation += 1
        client.subscribe(topics)

    def on_subscribe(client: Any, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        if any(r.is_failure for r in reasons):
            inbox.refused = f"subscription refused: {', '.join(str(r) for r in reasons)}"
        inbox.connected.set()

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        received = _Received(
            message.topic, message.payload, message.mid, message.qos, inbox.generation
        )
        inbox.last_arrival = time.monotonic()
        with inbox.ready:
            inbox.messages.append(received)
            if len(inbox.messages) % 1000 == 0:
                inbox.ready.notify()

    client.on_connect = on_connect
    client.on_message = on_message
    client.on_subscribe = on_subscribe
    where = f"{options.host}:{options.port}"
    try:
        client.connect(options.host, options.port, keepalive=30)
    except OSError as exc:
        raise BrokerError(f"no MQTT broker at {where} ({exc.strerror or exc})") from None
    client.loop_start()
    if not inbox.connected.wait(options.connect_timeout) or inbox.refused:
        client.loop_stop()
        why = f"refused the subscriber: {inbox.refused}" if inbox.refused else "did not answer"
        raise BrokerError(f"the MQTT broker at {where} {why}")
    return client


def _commit(
    lake: Lake, batch: list[_Received], options: StreamOptions, sites: SiteBook, source: str
) -> BatchResult:
    items = Items()
    for message in batch:
        decode_json(message.payload, source + message.topic, items)
    return commit_items(
        lake,
        items,
        timezone=options.timezone,
        allow_new_sites=options.allow_new_sites,
        operation=OPERATION,
        sites=sites,
        info={"messages": len(batch)},
    )


def _acknowledge(client: Any, batch: list[_Received], generation: int) -> None:
    """Acknowledge committed messages received on the current connection."""
    for message in batch:
        if message.qos and message.generation == generation:
            client.ack(message.mid, message.qos)


def _maintain(lake: Lake, settings: Settings) -> None:
    from urbanpulse.store.maintenance import maintain_lake

    maintain_lake(lake, settings)
