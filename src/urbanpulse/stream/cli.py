"""``urbanpulse stream ...``: keep the lake fed from live sources until stopped."""

from __future__ import annotations

import typer

stream_app = typer.Typer(
    help="Live data: subscribe to MQTT topics or follow GTFS-Realtime feeds into the lake.",
    no_args_is_help=True,
)
