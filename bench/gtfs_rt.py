"""Benchmark: a GTFS-Realtime replay, against decoding the same snapshots alone.

Run by hand: ``python bench/gtfs_rt.py [--data ../shared/data] [--snapshots 1000]``.

A real TripUpdates snapshot (Caltrain, 2023-11-08, 220 stop time updates, static feed
beside it) is turned into a replay of ``--snapshots`` distinct snapshots, 30 s apart:
each carries the next feed time and every delay moved by a few seconds, as a live feed
revises its predictions. UrbanPulse reads them one by one into a fresh lake (decode,
resolve against the network, quarantine, "already read?", dedupe against the lake,
atomic commits of ``SNAPSHOTS_PER_COMMIT`` snapshots, as ``urbanpulse stream gtfs-rt
FOLDER`` reads a folder), and the first ``--single`` again one commit each (as a live
poll reads them); the baseline decodes the same bytes with the official bindings and
nothing else. Figures: snapshots per second for both, their ratio (target >= 0.5),
the last commit's rate against the first's (the thousandth must cost what the
first did), and the reconciliation: stored + already stored + quarantined = held, for
every kind and snapshot. ``collisions_lost`` counts the last snapshot's delays that are
not their trip's prediction in force in the lake (a value lost to a shared key, two trips
at one stop and second, or a correction that did not replace the earlier guess).
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
from urbanpulse.store.engine import connect, scan_sql
from urbanpulse.transit import load_network
from urbanpulse.transit.realtime import (
    KINDS,
    SNAPSHOTS_PER_COMMIT,
    decode_feed,
    read_realtime_feed,
    read_realtime_feeds,
)

REPO = Path(__file__).resolve().parents[1]
TARGET_RATIO = 0.5
FEED = "gtfs-realtime/caltrain-2023-11-08"
FEED_PREFIX = "ct:"  # the network's site ids: its id, then the feed's stop_id


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
                    # a revised prediction: the predicted time (or delay) moves by 5 s
                    if event.HasField("time") and event.time > 0:
                        event.time += 5 if n % 2 else -5
                    if event.HasField("delay"):
                        event.delay += 5 if n % 2 else -5
        snapshots.append(message.SerializeToString())
    return snapshots


def count_collisions(message: gtfs_realtime_pb2.FeedMessage) -> int:
    """Stop time updates of one snapshot whose (stop, scheduled time) another trip's
    update took first: values a stop's delay series cannot tell apart."""
    seen, shared = set(), 0
    for entity in message.entity:
        for stop in entity.trip_update.stop_time_update:
            key = (stop.stop_id, stop.arrival.time or stop.departure.time)
            if key[1] and key in seen:
                shared += 1
            seen.add(key)
    return shared


def count_lost(lake: Lake, message: gtfs_realtime_pb2.FeedMessage) -> int:
    """Delays of the last snapshot that are not the trip's prediction in force in the
    lake (its newest stored version): values lost to a key, a collision or a
    correction that did not replace."""
    sql = scan_sql(lake, "realtime_predictions")
    newest = {
        (trip, event): delay
        for trip, event, delay in connect()
        .execute(
            f"SELECT trip_id || '|' || site_id, event, arg_max(delay_s, feed_ts) "
            f"FROM ({sql}) GROUP BY trip_id, site_id, event, scheduled_ts"
        )
        .fetchall()
    }
    lost = 0
    for entity in message.entity:
        trip = entity.trip_update.trip.trip_id
        for stop in entity.trip_update.stop_time_update:
            for event in ("arrival", "departure"):
                moment = getattr(stop, event)
                if not stop.HasField(event):
                    continue
                key = (f"{trip}|{FEED_PREFIX}{stop.stop_id}", event)
                if moment.HasField("delay"):
                    lost += newest.get(key) != float(moment.delay)
                else:  # a predicted time: in force when the latest version moved with it
                    lost += key not in newest
    return lost


def time_crowding_feed(lake: Lake) -> tuple[float, float]:
    """Seconds of the first GTFS-Realtime crowding feed of the network over the replayed
    lake (220,000 delays stored, no crowding readings), and of the same request again."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from urbanpulse.advise.occupancy_feed import build_crowding_feed
    from urbanpulse.advise.service import build_advice_service
    from urbanpulse.settings import Settings

    zone = "America/Los_Angeles"
    settings = Settings(lake_path=lake.root, local_timezone=zone, holiday_country="US")
    service = build_advice_service(settings, lake)
    start = datetime(2023, 11, 8, 8, tzinfo=ZoneInfo(zone))
    seconds = []
    for _ in range(2):
        began = time.perf_counter()
        build_crowding_feed(service, "ct", start=start)
        seconds.append(time.perf_counter() - began)
    return seconds[0], seconds[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("URBANPULSE_SHARED_DATA", str(REPO.parent / "shared" / "data"))
    parser.add_argument("--data", type=Path, default=Path(default))
    parser.add_argument("--snapshots", type=int, default=1000)
    parser.add_argument("--single", type=int, default=100, help="snapshots read one a commit")
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
        named = ((f"replay-{n:05d}.pb", data) for n, data in enumerate(snapshots))
        started = time.perf_counter()
        for summary in read_realtime_feeds(lake, named):  # as `stream gtfs-rt FOLDER` reads
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
        lost = count_lost(lake, decoded[-1])
        first_feed, warm_feed = time_crowding_feed(lake)

        # The same snapshots one commit each, as a live poll reads them (first ones only).
        single = Lake(Path(workdir) / "single")
        load_network(single, folder / "ct.zip")
        singles = snapshots[: min(args.single, len(snapshots))]
        started_single = time.perf_counter()
        for n, data in enumerate(singles):
            read_realtime_feed(single, data, source=f"replay-{n:05d}.pb")
        single_seconds = time.perf_counter() - started_single

    count = len(snapshots)
    rate, decode_rate = count / replay_seconds, count / decode_seconds
    single_rate = len(singles) / single_seconds
    # The thousandth snapshot must cost what the first did: the first commit's rate
    # against the last's.
    window = min(SNAPSHOTS_PER_COMMIT, count // 2)
    first = window / (stamps[window - 1] - started)
    last = window / (stamps[-1] - stamps[-window - 1])
    table = Table(title=f"GTFS-Realtime replay: {count} Caltrain TripUpdates snapshots")
    for column in ("run", "seconds", "snapshots/s", "vs decoding"):
        table.add_column(column, justify="left" if column == "run" else "right")
    table.add_row("decode only (baseline)", f"{decode_seconds:.2f}", f"{decode_rate:,.0f}", "1.00")
    table.add_row(
        f"UrbanPulse folder replay ({SNAPSHOTS_PER_COMMIT} a commit)",
        f"{replay_seconds:.2f}", f"{rate:,.1f}", f"{rate / decode_rate:.4f}",
    )  # fmt: skip
    table.add_row(f"  first {window}", "", f"{first:,.1f}", "")
    table.add_row(f"  last {window}", "", f"{last:,.1f}", "")
    table.add_row(
        f"UrbanPulse one a commit (first {len(singles)})",
        f"{single_seconds:.2f}", f"{single_rate:,.1f}", f"{single_rate / decode_rate:.4f}",
    )  # fmt: skip
    Console(width=120).print(table)
    print(
        f"first GTFS-Realtime crowding feed of the network over this lake: {first_feed:.2f} s "
        f"(the same request again: {warm_feed * 1000:.0f} ms; target < 1 s)"
    )
    print(
        f"held {held:,}: stored {kept['stored']:,}, already stored {kept['already']:,}, "
        f"quarantined {kept['quar']:,}; stop times sharing a stop and second with another "
        f"trip's {collisions}; last snapshot's delays not in force in the lake {lost}"
    )
    print(
        json.dumps(
            {
                "snapshots": count,
                "snapshots_per_second": round(rate, 2),
                "decode_snapshots_per_second": round(decode_rate, 1),
                "ratio_vs_decode": round(rate / decode_rate, 5),
                "one_per_commit_snapshots_per_second": round(single_rate, 2),
                "batching_speedup": round(rate / single_rate, 2),
                "target_ratio": TARGET_RATIO,
                "last_vs_first_rate": round(last / first, 3),
                "first_crowding_feed_seconds": round(first_feed, 3),
                "warm_crowding_feed_seconds": round(warm_feed, 4),
                "target_first_crowding_feed_seconds": 1.0,
                "collisions_shared": collisions,
                "collisions_lost": lost,
                "reconciled": bool(reconciled),
                "held": held,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
