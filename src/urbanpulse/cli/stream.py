"""``urbanpulse stream ...``: keep the lake fed from live sources until stopped."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

import typer

from urbanpulse.cli.common import (
    LAKE_OPTION,
    build_group,
    console,
    err_console,
    get_settings,
    product_errors,
)
from urbanpulse.store.maintenance import open_lake
from urbanpulse.stream.batches import BatchResult

stream_app = build_group(
    help="Live data: subscribe to MQTT topics or follow GTFS-Realtime feeds into the lake.",
    no_args_is_help=True,
)

REPORT_EVERY_S = 5.0


@stream_app.command("mqtt")
def mqtt(
    lake: Path | None = LAKE_OPTION,
    host: str | None = typer.Option(
        None, "--host", help="MQTT broker host \\[default: URBANPULSE_MQTT_HOST or 127.0.0.1]."
    ),
    port: int | None = typer.Option(
        None, "--port", help="MQTT broker port \\[default: URBANPULSE_MQTT_PORT or 1883]."
    ),
    topic: list[str] | None = typer.Option(
        None,
        "--topic",
        help="Topic filter to subscribe to, repeatable \\[default: URBANPULSE_MQTT_TOPICS "
        "or urbanpulse/#].",
    ),
    client_id: str | None = typer.Option(
        None,
        "--client-id",
        help="Client id of the persistent session: messages wait under it while the "
        "subscriber is down \\[default: urbanpulse-stream].",
    ),
    batch_size: int | None = typer.Option(
        None, "--batch-size", min=1, max=30_000, help="Messages per commit \\[default: 10000]."
    ),
    batch_seconds: float | None = typer.Option(
        None, "--batch-seconds", min=0.01, help="Longest wait before a commit \\[default: 1]."
    ),
    allow_new_sites: bool | None = typer.Option(
        None,
        "--allow-new-sites/--known-sites-only",
        help="Register sites first seen in the stream, or quarantine their observations "
        "as 'unknown site' \\[default: known sites only].",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print each commit and the totals as JSON lines."
    ),
) -> None:
    """Subscribe to MQTT topics and commit observations to the lake until stopped.

    Payloads are one JSON observation, a JSON batch or NGSI-LD entity fragments
    (docs/streams.md). QoS 1 on a persistent session: a message is acknowledged only
    after its micro-batch is committed, so a restart of the broker or of this command
    loses nothing, and a message delivered again stores nothing twice. Bad messages go
    to quarantine with their topic, reason and position. Ctrl-C or SIGTERM commits the
    open micro-batch and ends.
    """
    from urbanpulse.stream.mqtt import StreamOptions, run_mqtt_stream

    settings = get_settings(lake)
    options = StreamOptions.from_settings(
        settings,
        host=host,
        port=port,
        topics=tuple(topic) if topic else None,
        client_id=client_id,
        batch_size=batch_size,
        batch_seconds=batch_seconds,
        allow_new_sites=allow_new_sites,
    )
    stop = threading.Event()
    report = _Reporter(as_json)
    with _stop_on_signals(stop), _product_errors():
        opened = open_lake(settings)
        total = run_mqtt_stream(
            opened,
            settings,
            stop_event=stop,
            options=options,
            on_batch=report.batch,
            on_ready=lambda: report.ready(
                options.topics,
                f"{options.host}:{options.port}",
                options.client_id,
                str(opened.root),
            ),
        )
    report.done(total)


class _Reporter:
    """One line per commit as JSON, or a line every few seconds for people."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.window = BatchResult()
        self.messages = 0
        self.last = time.monotonic()

    def ready(self, topics: tuple[str, ...], broker: str, client_id: str, lake: str) -> None:
        if self.as_json:
            line = {"subscribed": list(topics), "broker": broker, "client_id": client_id}
            print(json.dumps(line), flush=True)
            return
        console.print(
            f"subscribed to {', '.join(topics)} at {broker} as {client_id}, committing to "
            f"{lake}; Ctrl-C or SIGTERM to stop",
            soft_wrap=True,
        )

    def batch(self, result: BatchResult, messages: int) -> None:
        if self.as_json:
            print(json.dumps({"messages": messages, **result.to_dict()}), flush=True)
            return
        self.window.add(result)
        self.messages += messages
        if time.monotonic() - self.last >= REPORT_EVERY_S:
            self._print(self.window, self.messages)
            self.window, self.messages, self.last = BatchResult(), 0, time.monotonic()

    def done(self, total: BatchResult) -> None:
        if self.as_json:
            print(json.dumps({"total": total.to_dict()}), flush=True)
        else:
            if self.messages:
                self._print(self.window, self.messages)
            console.print(
                f"stopped: {total.stored:,} observations stored, {total.duplicates:,} already "
                f"stored, {total.quarantined_total:,} quarantined",
                soft_wrap=True,
            )

    def _print(self, result: BatchResult, messages: int) -> None:
        reasons = ", ".join(f"{n:,} {r}" for r, n in result.quarantined.most_common(3))
        console.print(
            f"{messages:,} messages: {result.stored:,} stored, {result.duplicates:,} already "
            f"stored, {result.quarantined_total:,} quarantined"
            + (f" ({reasons})" if reasons else ""),
            soft_wrap=True,
        )


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and Ctrl-C set ``stop``: the subscriber commits what it holds and ends."""

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, handle) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


_product_errors = product_errors


@stream_app.command("gtfs-rt")
def gtfs_rt(
    sources: list[str] = typer.Argument(
        ...,
        help="GTFS-Realtime sources: .pb files, folders of them (read once) or feed URLs "
        "(polled every --interval seconds until Ctrl-C).",
    ),
    network: str | None = typer.Option(
        None,
        "--network",
        help="Static network the feed belongs to, as 'urbanpulse transit load' stored it "
        "\\[default: the lake's only GTFS network].",
    ),
    interval: float = typer.Option(
        30.0, "--interval", min=1.0, help="Seconds between two polls of the feed URLs."
    ),
    once: bool = typer.Option(False, "--once", help="Poll each URL once, then stop."),
    lake: Path | None = LAKE_OPTION,
    as_json: bool = typer.Option(
        False, "--json", help="Print each snapshot and the totals as JSON lines."
    ),
) -> None:
    """Read GTFS-Realtime TripUpdates, VehiclePositions and Alerts into the lake.

    Delays per stop become arrival_delay / departure_delay observations and vehicle
    occupancy becomes occupancy_status / occupancy_percentage observations of the stop,
    resolved against the static network loaded with 'urbanpulse transit load'; alerts
    and vehicle positions are kept in their own tables. Unknown trips and stops go to
    quarantine with the feed, entity position and reason. Reading the same snapshot
    again stores nothing (docs/gtfs-realtime.md).
    """
    from urbanpulse.transit.realtime_sources import follow_realtime_feeds

    settings = get_settings(lake)
    summaries: list = []

    def report(summary) -> None:  # type: ignore[no-untyped-def]
        summaries.append(summary)
        if as_json:
            print(json.dumps(summary.to_dict(), ensure_ascii=False), flush=True)
        else:
            console.print(_describe_snapshot(summary), soft_wrap=True)

    def warn(message: str) -> None:
        err_console.print(f"[yellow]warning:[/yellow] {message}", soft_wrap=True)

    with _product_errors():
        opened = open_lake(settings)
        with suppress(KeyboardInterrupt):
            follow_realtime_feeds(
                opened,
                sources,
                network_id=network,
                interval=interval,
                polls=1 if once else None,
                on_summary=report,
                on_error=warn,
            )
    totals = _total_snapshots(summaries)
    if as_json:
        print(json.dumps({"total": totals}), flush=True)
    else:
        console.print(
            f"{totals['snapshots']} snapshots: {totals['stored']:,} entities stored "
            f"({totals['observations']:,} observations), {totals['quarantined']:,} quarantined",
            soft_wrap=True,
        )


def _describe_snapshot(summary) -> str:  # type: ignore[no-untyped-def]
    if summary.already_read:
        return f"{summary.source}: already read, nothing new"
    body = summary.to_dict()
    return (
        f"{summary.source}: {summary.trip_updates} trip updates ({summary.stop_time_updates} "
        f"stop times), {summary.vehicle_positions} vehicle positions, {summary.alerts} alerts; "
        f"{body['stored_total']} stored, {body['quarantined_total']} quarantined"
    )


def _total_snapshots(summaries: list) -> dict[str, int]:  # type: ignore[type-arg]
    totals = dict.fromkeys(
        ("snapshots", "trip_updates", "stop_time_updates", "vehicle_positions", "alerts",
         "observations", "stored", "already_stored", "quarantined"), 0
    )  # fmt: skip
    for summary in summaries:
        body = summary.to_dict()
        totals["snapshots"] += 1
        for key in ("trip_updates", "stop_time_updates", "vehicle_positions", "alerts"):
            totals[key] += body[key]
        totals["observations"] += body["observations"]
        totals["stored"] += body["stored_total"]
        totals["already_stored"] += sum(body["already_stored"].values())
        totals["quarantined"] += body["quarantined_total"]
    return totals
