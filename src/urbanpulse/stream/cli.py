"""``urbanpulse stream ...``: keep the lake fed from live sources until stopped."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import typer
from rich.console import Console

from urbanpulse.errors import UrbanPulseError
from urbanpulse.settings import Settings
from urbanpulse.store.maintenance import open_lake
from urbanpulse.stream.batches import BatchResult

stream_app = typer.Typer(
    help="Live data: subscribe to MQTT topics or follow GTFS-Realtime feeds into the lake.",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)

REPORT_EVERY_S = 5.0


@stream_app.command("mqtt")
def mqtt(
    lake: Path | None = typer.Option(
        None, "--lake", help="Lake folder \\[default: URBANPULSE_LAKE_PATH or var/lake]."
    ),
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

    settings = Settings()
    if lake is not None:
        settings = settings.model_copy(update={"lake_path": lake})
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
        if not as_json:
            console.print(
                f"subscribing to {', '.join(options.topics)} at {options.host}:{options.port} "
                f"as {options.client_id}, committing to {opened.root}; Ctrl-C to stop",
                soft_wrap=True,
            )
        total = run_mqtt_stream(
            opened, settings, stop_event=stop, options=options, on_batch=report.batch
        )
    report.done(total)


class _Reporter:
    """One line per commit as JSON, or a line every few seconds for people."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.window = BatchResult()
        self.messages = 0
        self.last = time.monotonic()

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


@contextmanager
def _product_errors() -> Iterator[None]:
    """The product's own errors as one line and exit code 2."""
    try:
        yield
    except UrbanPulseError as exc:
        err_console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(code=2) from None
