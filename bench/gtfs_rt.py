"""Benchmark: a GTFS-Realtime replay, against decoding the same snapshots alone.

Run by hand: ``python bench/gtfs_rt.py [--data ../shared/data] [--snapshots 1000]``.

A real TripUpdates snapshot (Caltrain, 2023-11-08, 220 stop time updates, static feed
beside it) is turned into a replay of ``--snapshots`` distinct snapshots, 30 s apart:
each carries the next feed time and every delay moved by a few seconds, as a live feed
revises its predictions. UrbanPulse reads them one by one into a fresh lake (decode,
resolve against the network, quarantine, "already read?", dedupe against the lake,
atomic commit); the baseline decodes the same bytes with the official bindings and
nothing else. Figures: snapshots per second for both, their ratio (target >= 0.5),
the last 100 snapshots' rate against the first 100's (the thousandth must cost what the
first did), and the reconciliation: stored + already stored + quarantined = held, for
every kind and snapshot. ``collisions_lost`` counts values whose key another value of
the same snapshot already took (two trips at one stop and scheduled second).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from google.transit import gtfs_realtime_pb2
from rich.console import Console
from rich.table import Table

from urbanpulse.store import Lake
from urbanpulse.transit import load_network
from urbanpulse.transit.realtime import KINDS, decode_feed, read_realtime_feed

REPO = Path(__file__).resolve().parents[1]
TARGET_RATIO = 0.5
FEED = "gtfs-realtime/caltrain-2023-11-08"


def build_snapshots(source: Path, count: int) -> list[bytes]:
    """``count`` distinct snapshots from one real one: later feed times, revised delays."""
    message = gtfs_realtime_pb2.FeedMessage()
    message.ParseFromString(source.read_bytes())
    snapshots = []
    for n in range(count):
        message.header.timestamp += 30
        for entity in message.entity:
            for stop in entity.trip_update.stop_time_update:
                for event in (stop.arrival, stop.departure):
                    if event.HasField("delay"):
                        event.delay += 5 if n % 2 else -5
        snapshots.append(message.SerializeToString())
    return snapshots


def count_collisions(message: gtfs_realtime_pb2.FeedMessage) -> int:
    """Stop time updates of one snapshot whose (stop, scheduled time) another trip's
    update took first: values the observation key cannot tell apart."""
    seen, lost = set(), 0
    for entity in message.entity:
        for stop in entity.trip_update.stop_time_update:
            key = (stop.stop_id, stop.arrival.time or stop.departure.time)
            if key[1] and key in seen:
                lost += 1
            seen.add(key)
    return lost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("URBANPULSE_SHARED_DATA", str(REPO.parent / "shared" / "data"))
    parser.add_argument("--data", type=Path, default=Path(default))
    parser.add_argument("--snapshots", type=int, default=1000)
    args = parser.parse_args()
    folder = args.data / FEED
    if not folder.is_dir():
        print(f"{folder} not found; set URBANPULSE_SHARED_DATA or --data", file=sys.stderr)
        return 2
    snapshots = build_snapshots(folder / "ct-trip-updates.pb", args.snapshots)

    started = time.perf_counter()
    decoded = [decode_feed(data, "replay") for data in snapshots]
    decode_seconds = time.perf_counter() - started
    collisions = sum(count_collisions(message) for message in decoded)

    with tempfile.TemporaryDirectory() as workdir:
        lake = Lake(Path(workdir) / "lake")
        load_network(lake, folder / "ct.zip")
        stamps, reconciled, held, kept = [], True, 0, {"stored": 0, "already": 0, "quar": 0}
        started = time.perf_counter()
        for n, data in enumerate(snapshots):
            summary = read_realtime_feed(lake, data, source=f"replay-{n:05d}.pb")
            stamps.append(time.perf_counter())
            body = summary.to_dict()
            for kind in KINDS:
                total = body[kind]
                parts = (
                    summary.stored[kind],
                    summary.already_stored[kind],
                    summary.quarantined[kind],
                )
                reconciled &= sum(parts) == total
                held += total
                kept["stored"] += parts[0]
                kept["already"] += parts[1]
                kept["quar"] += parts[2]
        replay_seconds = time.perf_counter() - started

    count = len(snapshots)
    rate, decode_rate = count / replay_seconds, count / decode_seconds
    window = min(100, count // 2)
    first = window / (stamps[window - 1] - started)
    last = window / (stamps[-1] - stamps[-window - 1])
    table = Table(title=f"GTFS-Realtime replay: {count} Caltrain TripUpdates snapshots")
    for column in ("run", "seconds", "snapshots/s", "vs decoding"):
        table.add_column(column, justify="left" if column == "run" else "right")
    table.add_row("decode only (baseline)", f"{decode_seconds:.2f}", f"{decode_rate:,.0f}", "1.00")
    table.add_row(
        "UrbanPulse read", f"{replay_seconds:.2f}", f"{rate:,.1f}", f"{rate / decode_rate:.4f}"
    )
    table.add_row(f"  first {window}", "", f"{first:,.1f}", "")
    table.add_row(f"  last {window}", "", f"{last:,.1f}", "")
    Console(width=120).print(table)
    print(
        f"held {held:,}: stored {kept['stored']:,}, already stored {kept['already']:,}, "
        f"quarantined {kept['quar']:,}; values lost to a key collision {collisions}"
    )
    print(
        json.dumps(
            {
                "snapshots": count,
                "snapshots_per_second": round(rate, 2),
                "decode_snapshots_per_second": round(decode_rate, 1),
                "ratio_vs_decode": round(rate / decode_rate, 5),
                "target_ratio": TARGET_RATIO,
                "last_vs_first_rate": round(last / first, 3),
                "collisions_lost": collisions,
                "reconciled": bool(reconciled),
                "held": held,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
