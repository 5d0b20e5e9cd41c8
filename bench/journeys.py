"""Journeys against the timetable: the product's planner checked with an independent
earliest-arrival reference on real GTFS feeds.

The reference is a Connection Scan (Dibbelt et al. 2013) written here from the feed's
own files with pandas, not from the product's loader: every trip running on the chosen
service day, its stop-to-stop connections in departure order, and footpaths by the
product's stated transfer rules (transfers.txt min_transfer_time; platforms of one parent
station; stops within 250 m, and stops of one name within 500 m, at 1.2 m/s and at least
2 minutes). For 200 random (origin, destination, departure) triples per feed (fixed
seed) it compares, with the earliest arrival the timetable allows:

- the advice (what a rider acts on): the best of the routes the advice service offers
  for that day, leaving at the start of the departure's 15-minute slot, from station to
  station (any platform of the origin's station, of the destination's; two platforms of
  one station, or two stops a walk apart, need no ride and are not drawn); an answer of no service while the
  reference finds a journey is counted apart;
- RAPTOR, the timetable planner, from the exact stop and time (its query time against
  the reference's);
- the period model alone (lines' median times by period), for the record.

Prints a table and ends with one JSON line:
``{"feeds": {feed: {"share_earliest_arrival": ..., "advice_share_no_service": ...,
"raptor_share_earliest_arrival": ..., "p50_ms": ..., "p99_ms": ..., "reference_p50_ms": ...,
"reference_p99_ms": ...}},
"target": {...}}``.

Usage: ``.venv/bin/python bench/journeys.py [--data ../shared/data] [--triples 200]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from urbanpulse.advise.counters import MemoryCounters
from urbanpulse.advise.service import PERIOD_MINUTES, AdviceService
from urbanpulse.errors import InvalidQueryError, NotFoundError
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.transit import load_network
from urbanpulse.transit.journeys import JourneyPlanner
from urbanpulse.transit.network import read_transit_network
from urbanpulse.transit.raptor import plan, read_timetable

FEEDS = {
    "bart": "gtfs-realtime/bart-2019/bart-rt.zip",
    "caltrain": "gtfs-realtime/caltrain-2023-11-08/ct.zip",
    "delhi-metro": "gtfs/delhi-metro/DMRC_GTFS.zip",
    "cairns": "gtfs/cairns_gtfs.zip",
}
WALK_SPEED = 1.2  # m/s, the product's planning pace
MIN_WALK_S = 120.0
NEARBY_M = 250.0
WINDOW = (7 * 3600, 10 * 3600)  # departures asked for: a weekday morning
TOLERANCE_MIN = 1.0  # "to the minute"


def read_feed(path: Path) -> dict[str, pd.DataFrame]:
    with zipfile.ZipFile(path) as archive:
        names = {Path(n).name: n for n in archive.namelist()}
        return {
            name[:-4]: pd.read_csv(archive.open(names[name]), dtype=str, keep_default_na=False)
            for name in ("agency.txt", "stops.txt", "stop_times.txt", "trips.txt", "calendar.txt",
                         "calendar_dates.txt", "transfers.txt")
            if name in names
        }  # fmt: skip


def _seconds(text: pd.Series) -> np.ndarray:
    """Seconds after the service day's noon-minus-12h; NaN where the feed gives no time
    (stops between timepoints, which the reference does not interpolate)."""
    parts = text.str.strip().str.split(":", expand=True).reindex(columns=[0, 1, 2])
    parts = parts.apply(pd.to_numeric, errors="coerce")
    return (parts[0] * 3600 + parts[1] * 60 + parts[2]).to_numpy()


def pick_service_day(feed: dict[str, pd.DataFrame]) -> tuple[str, set[str]]:
    """The weekday (YYYYMMDD) with the most services running, and those services."""
    days: dict[str, set[str]] = {}
    calendar = feed.get("calendar")
    if calendar is not None and len(calendar):
        for row in calendar.itertuples():
            for day in pd.date_range(row.start_date, row.end_date):
                if day.weekday() < 5 and getattr(row, day.day_name().lower()) == "1":
                    days.setdefault(day.strftime("%Y%m%d"), set()).add(row.service_id)
    dates = feed.get("calendar_dates")
    if dates is not None:
        for row in dates.itertuples():
            running = days.setdefault(row.date, set())
            (running.add if row.exception_type == "1" else running.discard)(row.service_id)
    weekdays = {d: s for d, s in days.items() if pd.Timestamp(d).weekday() < 5}
    best = max(weekdays, key=lambda d: len(weekdays[d]))
    return best, weekdays[best]


def build_connections(feed: dict[str, pd.DataFrame], services: set[str]) -> np.ndarray:
    """Connections (dep_stop, arr_stop, dep_s, arr_s, trip) of the day, by departure."""
    trips = feed["trips"][feed["trips"]["service_id"].isin(services)][["trip_id"]]
    times = feed["stop_times"].merge(trips, on="trip_id")
    times = times.assign(seq=times["stop_sequence"].astype(int)).sort_values(["trip_id", "seq"])
    arrive = times["arrival_time"].where(times["arrival_time"] != "", times["departure_time"])
    depart = times["departure_time"].where(times["departure_time"] != "", times["arrival_time"])
    times = times.assign(arr=_seconds(arrive), dep=_seconds(depart))
    times = times[np.isfinite(times["arr"]) & np.isfinite(times["dep"])]
    nxt = times.groupby("trip_id").shift(-1)
    keep = nxt["stop_id"].notna()
    rows = pd.DataFrame(
        {"from": times["stop_id"][keep], "to": nxt["stop_id"][keep],
         "dep": times["dep"][keep], "arr": nxt["arr"][keep], "trip": times["trip_id"][keep]}
    ).sort_values(["dep", "arr"])  # fmt: skip
    return rows.to_numpy(dtype=object)


def build_footpaths(feed: dict[str, pd.DataFrame]) -> dict[str, list[tuple[str, float]]]:
    stops = feed["stops"]
    kind = stops.get("location_type", pd.Series("0", index=stops.index)).replace("", "0")
    platforms = stops[kind == "0"]
    lat = platforms["stop_lat"].astype(float).to_numpy()
    lon = platforms["stop_lon"].astype(float).to_numpy()
    ids = platforms["stop_id"].to_numpy()
    walks: dict[tuple[str, str], float] = {}
    # Nearby stops (and so the platforms of one station) by straight-line distance.
    p1, l1 = np.radians(lat)[:, None], np.radians(lon)[:, None]
    a = (
        np.sin((np.radians(lat) - p1) / 2) ** 2
        + np.cos(p1) * np.cos(np.radians(lat)) * np.sin((np.radians(lon) - l1) / 2) ** 2
    )
    metres = 2 * 6_371_000 * np.arcsin(np.sqrt(a))
    for i, j in zip(*np.nonzero(metres <= NEARBY_M), strict=True):
        if i != j:
            walks[(ids[i], ids[j])] = max(MIN_WALK_S, metres[i, j] / WALK_SPEED)
    # Stops of one name within twice the walk radius (500 m), as the product joins them.
    names = platforms["stop_name"].str.casefold().to_numpy()
    same = (names[:, None] == names[None, :]) & (metres <= 2 * NEARBY_M)
    for i, j in zip(*np.nonzero(same), strict=True):
        if i != j:
            walks.setdefault((ids[i], ids[j]), max(MIN_WALK_S, metres[i, j] / WALK_SPEED))
    parent = platforms.get("parent_station", pd.Series("", index=platforms.index))
    for _, group in platforms.groupby(parent.to_numpy()):
        if _ and len(group) > 1:
            for x in group["stop_id"]:
                for y in group["stop_id"]:
                    if x != y:
                        walks.setdefault((x, y), MIN_WALK_S)
    transfers = feed.get("transfers")
    if transfers is not None:
        for row in transfers.itertuples():
            if row.from_stop_id != row.to_stop_id and getattr(row, "min_transfer_time", ""):
                walks[(row.from_stop_id, row.to_stop_id)] = float(row.min_transfer_time)
    paths: dict[str, list[tuple[str, float]]] = {}
    for (x, y), seconds in walks.items():
        paths.setdefault(x, []).append((y, seconds))
    return paths


def build_station_groups(feed: dict[str, pd.DataFrame]) -> dict[str, list[str]]:
    """Each stop -> the platforms of its station (those sharing its parent_station), or
    itself alone where it has no parent."""
    stops = feed["stops"]
    parent = stops.get("parent_station", pd.Series("", index=stops.index)).fillna("")
    groups: dict[str, list[str]] = {}
    for _station, members in stops.groupby(parent.where(parent != "", stops["stop_id"]))["stop_id"]:
        for stop in members:
            groups[stop] = sorted(members)
    return groups


def scan(
    connections: np.ndarray, paths: dict, origin: str | list[str], start: float
) -> dict[str, float]:
    """Earliest arrival at every stop leaving ``origin`` (one stop, or any of several:
    the platforms of a station) at ``start`` (one walk hop)."""
    origins = [origin] if isinstance(origin, str) else origin
    best: dict[str, float] = dict.fromkeys(origins, start)
    for first in origins:
        for stop, walk in paths.get(first, ()):
            best[stop] = min(best.get(stop, np.inf), start + walk)
    # Arrivals on board: one walk is allowed between rides, so a walk starts only from
    # these, and from a ride that reaches a stop later than a walk did (ride to the stop
    # next door, then walk on).
    ridden: dict[str, float] = dict.fromkeys(origins, start)
    boarded: set[str] = set()
    for dep_stop, arr_stop, dep, arr, trip in connections:
        if dep < start:
            continue
        if trip in boarded or best.get(dep_stop, np.inf) <= dep:
            boarded.add(trip)
            if arr < ridden.get(arr_stop, np.inf):
                ridden[arr_stop] = arr
                best[arr_stop] = min(best.get(arr_stop, np.inf), arr)
                for stop, walk in paths.get(arr_stop, ()):
                    if arr + walk < best.get(stop, np.inf):
                        best[stop] = arr + walk
    return best


def _build_advice(lake: Lake, feed: dict[str, pd.DataFrame]) -> AdviceService:
    """The advice service over the feed's lake, on the feed's own clock."""
    agency = feed.get("agency")
    zone = str(agency["agency_timezone"].iloc[0]) if agency is not None else "UTC"
    settings = Settings(lake_path=lake.root, local_timezone=zone)
    return AdviceService(lake, settings, MemoryCounters())


def run_feed(
    name: str, path: Path, triples: int, rng: np.random.Generator, *, show_misses: bool = False
) -> dict[str, float]:
    feed = read_feed(path)
    day, services = pick_service_day(feed)
    connections = build_connections(feed, services)
    paths = build_footpaths(feed)
    groups = build_station_groups(feed)
    lake = Lake(Path(tempfile.mkdtemp(prefix=f"bench-journeys-{name}-")) / "lake")
    network_id = load_network(lake, path).network_id
    planner = JourneyPlanner(read_transit_network(lake))
    timetable = read_timetable(lake, network_id, pd.Timestamp(day).date())
    raptor_errors, raptor_times = [], []
    advice_errors, advice_times = [], []
    service_day = pd.Timestamp(day).date()
    advice = _build_advice(lake, feed)
    served = sorted({c[0] for c in connections} | {c[1] for c in connections})
    # Every (trip, stop, time) the feed's own stop times hold, to check rides against.
    departures = {(str(c[4]), str(c[0]), float(c[2])) for c in connections}
    arrivals_at = {(str(c[4]), str(c[1]), float(c[3])) for c in connections}
    rides_exist: list[bool] = []
    errors, times, reference_times = [], [], []
    while len(errors) < triples:
        origin, destination = rng.choice(served, 2, replace=False)
        if destination in groups.get(origin, ()) or destination in dict(paths.get(origin, ())):
            continue  # two platforms of one station, or a walk apart: no ride to plan
        start = float(rng.integers(*WINDOW))
        started = time.perf_counter()
        earliest = scan(connections, paths, origin, start).get(destination, np.inf)
        reference_times.append(time.perf_counter() - started)
        if not np.isfinite(earliest):
            continue  # no journey that day: nothing to compare
        started = time.perf_counter()
        predicted = np.inf
        try:
            journeys = planner.compute_journeys(
                f"{network_id}:{origin}", f"{network_id}:{destination}"
            )
            minutes = [
                planner.compute_travel_minutes(j, start / 60, day_type="weekday") for j in journeys
            ]
            known = [m for m in minutes if np.isfinite(m)]
            predicted = start + 60 * min(known) if known else np.inf
        except Exception:
            predicted = np.inf
        times.append(time.perf_counter() - started)
        errors.append((predicted - earliest) / 60)
        started = time.perf_counter()
        found = plan(timetable, [f"{network_id}:{origin}"], [f"{network_id}:{destination}"], start)
        raptor_times.append(time.perf_counter() - started)
        raptor_errors.append(((found.arrives_s if found else np.inf) - earliest) / 60)
        if found is not None:
            prefix = len(network_id) + 1
            rides_exist.append(all(
                (r.trip_id, r.board[prefix:], r.departs_s) in departures
                and (r.trip_id, r.alight[prefix:], r.arrives_s) in arrivals_at
                for r in found.rides
            ))  # fmt: skip
        # What a rider is advised: the advice's routes, timed at the slot of that start.
        slot = int(start // (PERIOD_MINUTES * 60))
        slot_start = slot * PERIOD_MINUTES * 60.0
        # The advice plans station to station: any platform of the origin's station (no
        # walk), any platform of the destination's.
        reached = scan(connections, paths, groups.get(origin, [origin]), slot_start)
        best_from_slot = min(reached.get(s, np.inf) for s in groups.get(destination, [destination]))
        started = time.perf_counter()
        try:
            routes = advice.get_day_routes(
                f"{network_id}:{origin}", f"{network_id}:{destination}", service_day
            )
            arrivals = [
                slot_start + 60 * (legs[slot, -1, 1] + journey.walk_after_minutes)
                for journey, legs in routes
            ]
            advised = min((a for a in arrivals if np.isfinite(a)), default=np.inf)
        except (InvalidQueryError, NotFoundError):
            advised = np.inf
        advice_times.append(time.perf_counter() - started)
        if np.isfinite(best_from_slot):
            advice_errors.append((advised - best_from_slot) / 60)
            if show_misses and abs(advice_errors[-1]) > TOLERANCE_MIN:
                print(f"{name}: advice misses {origin} -> {destination} at slot {slot}: "
                      f"{advised / 60:.1f} against {best_from_slot / 60:.1f} min after midnight")  # fmt: skip
    error = np.asarray(errors)
    finite = error[np.isfinite(error)]
    raptor = np.asarray(raptor_errors)
    advised = np.asarray(advice_errors)
    return {
        "service_day": day,
        # The answer a rider acts on: the advice's best route at the slot of the start.
        "share_earliest_arrival": round(float(np.mean(np.abs(advised) <= TOLERANCE_MIN)), 3),
        # "No service at that slot" (nothing runs later that day, or no route at all)
        # where the reference finds a journey.
        "advice_share_no_service": round(float(np.isinf(advised).mean()), 3),
        "advice_p50_ms": round(float(np.median(advice_times)) * 1000, 2),
        # The timetable planner (RAPTOR), one query from the exact start.
        "raptor_share_earliest_arrival": round(float(np.mean(np.abs(raptor) <= TOLERANCE_MIN)), 3),
        "raptor_max_abs_error_min": round(float(np.max(np.abs(raptor))), 2),
        "share_trips_exist": round(float(np.mean(rides_exist)), 3),
        "p50_ms": round(float(np.median(raptor_times)) * 1000, 2),
        "p99_ms": round(float(np.percentile(raptor_times, 99)) * 1000, 2),
        # The period model alone (lines' medians by period), for the record.
        "period_model_share_earliest_arrival": round(
            float(np.mean(np.abs(error) <= TOLERANCE_MIN)), 3
        ),
        "period_model_share_answered": round(float(np.isfinite(error).mean()), 3),
        "period_model_mean_abs_error_min": round(float(np.mean(np.abs(finite))), 2)
        if len(finite)
        else None,
        "period_model_p50_ms": round(float(np.median(times)) * 1000, 2),
        "reference_p50_ms": round(float(np.median(reference_times)) * 1000, 2),
        "reference_p99_ms": round(float(np.percentile(reference_times, 99)) * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--triples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--show-misses", action="store_true", help="print each advice miss")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    results = {}
    for name, relative in FEEDS.items():
        if (args.data / relative).exists():
            results[name] = run_feed(
                name, args.data / relative, args.triples, rng, show_misses=args.show_misses
            )
    table = Table(title="Predicted arrival against the timetable's earliest (Connection Scan)")
    for column in ("feed", "day", "advice within 1 min", "advice: no service",
                   "advice p50 ms (a day's routes)", "RAPTOR within 1 min", "RAPTOR max |err|",
                   "rides that exist",
                   "RAPTOR p50 / p99 ms", "reference p50 / p99 ms", "period model within 1 min",
                   "period model p50 ms"):  # fmt: skip
        table.add_column(column)
    for name, r in results.items():
        table.add_row(name, r["service_day"], f"{r['share_earliest_arrival']:.0%}",
                      f"{r['advice_share_no_service']:.0%}", str(r["advice_p50_ms"]),
                      f"{r['raptor_share_earliest_arrival']:.0%}", str(r["raptor_max_abs_error_min"]),
                      f"{r['share_trips_exist']:.0%}", f"{r['p50_ms']} / {r['p99_ms']}",
                      f"{r['reference_p50_ms']} / {r['reference_p99_ms']}",
                      f"{r['period_model_share_earliest_arrival']:.0%}",
                      str(r["period_model_p50_ms"]))  # fmt: skip
    Console(width=200).print(table)
    target = {"share_earliest_arrival": 1.0, "share_trips_exist": 1.0, "p50_ms": "<= reference"}
    print(json.dumps({"feeds": results, "target": target}))


if __name__ == "__main__":
    main()
