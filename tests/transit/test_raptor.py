"""RAPTOR on a hand-made timetable (answers worked out by hand) and on a real feed
against the stored trips themselves."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from urbanpulse.store import Lake
from urbanpulse.transit.raptor import build_timetable, plan, read_timetable

DAY = date(2026, 3, 3)


def _timetable() -> object:
    """Line R: A 08:00 -> B 08:10 -> C 08:20 (every 20 min); line G: D 08:12 -> E 08:30
    and 08:25 -> 08:43; a 3-minute walk from B to D. An express X leaves A at 08:05 and
    reaches C at 08:14 without stopping at B."""
    trips = pd.DataFrame(
        {"trip_id": ["r1", "r2", "g1", "g2", "x1"], "line_id": ["R", "R", "G", "G", "X"]}
    )
    rows = []
    for trip, start in (("r1", 8 * 3600), ("r2", 8 * 3600 + 1200)):
        for k, stop in enumerate(("A", "B", "C")):
            rows.append((trip, k, stop, start + 600 * k))
    rows += [("g1", 0, "D", 8 * 3600 + 720), ("g1", 1, "E", 8 * 3600 + 1800)]
    rows += [("g2", 0, "D", 8 * 3600 + 1500), ("g2", 1, "E", 8 * 3600 + 2580)]
    rows += [("x1", 0, "A", 8 * 3600 + 300), ("x1", 1, "C", 8 * 3600 + 840)]
    stops = pd.DataFrame(rows, columns=["trip_id", "stop_sequence", "site_id", "arrival_s"])
    stops["departure_s"] = stops["arrival_s"]
    walks = pd.DataFrame({"from_site_id": ["B"], "to_site_id": ["D"], "walk_minutes": [3.0]})
    return build_timetable("t", DAY, trips, stops, walks)


def test_the_earliest_arrival_takes_the_express_and_the_walk() -> None:
    timetable = _timetable()
    to_c = plan(timetable, ["A"], ["C"], 8 * 3600)
    assert to_c is not None and to_c.arrives_s == 8 * 3600 + 840  # the express, not R
    assert [r.trip_id for r in to_c.rides] == ["x1"]
    # A -> E: R to B (08:10), walk 3 min to D (08:13): g1 left at 08:12, so g2 at 08:25.
    to_e = plan(timetable, ["A"], ["E"], 8 * 3600)
    assert to_e is not None and to_e.arrives_s == 8 * 3600 + 2580
    assert [(r.trip_id, r.board, r.alight) for r in to_e.rides] == [
        ("r1", "A", "B"),
        ("g2", "D", "E"),
    ]
    assert to_e.minutes == pytest.approx(43)
    # Ready after the last train: no journey.
    assert plan(timetable, ["A"], ["C"], 9 * 3600) is None


@pytest.mark.shared_data
def test_every_ride_is_a_trip_that_runs(shared_data: Path, tmp_path: Path) -> None:
    """On BART's real timetable every ride's times are the stored trip's own times."""
    from urbanpulse.store.networks import read_network_table
    from urbanpulse.transit import load_network

    lake = Lake(tmp_path / "lake")
    network = load_network(lake, shared_data / "gtfs-realtime" / "bart-2019" / "bart-rt.zip")
    timetable = read_timetable(lake, network.network_id, date(2019, 2, 11))
    journey = plan(timetable, ["bart-rt:DUBL"], ["bart-rt:RICH"], 8 * 3600)
    assert journey is not None and len(journey.rides) >= 2  # a change of line is needed
    stops = read_network_table(lake, "trip_stops").to_pandas().set_index(["trip_id", "site_id"])
    for ride in journey.rides:
        assert stops.loc[(ride.trip_id, ride.board), "departure_s"] == ride.departs_s
        assert stops.loc[(ride.trip_id, ride.alight), "arrival_s"] == ride.arrives_s
    chained = zip(journey.rides, journey.rides[1:], strict=False)
    assert all(a.arrives_s <= b.departs_s for a, b in chained)


@pytest.mark.shared_data
def test_the_command_plans_by_name_on_the_day(shared_data: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from urbanpulse.cli import app

    lake = str(tmp_path / "lake")
    feed = shared_data / "gtfs-realtime" / "caltrain-2023-11-08" / "ct.zip"
    runner = CliRunner()
    assert runner.invoke(app, ["transit", "load", str(feed), "--lake", lake]).exit_code == 0
    args = ["transit", "journey", "22nd Street", "Mountain View", "--day", "2023-09-25"]
    result = runner.invoke(app, [*args, "--at", "07:30", "--lake", lake, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["rides"][0]["departs"] >= "07:30" and body["arrives"] > body["rides"][0]["departs"]
    wrong = runner.invoke(app, [*args, "--at", "7h30", "--lake", lake])
    assert wrong.exit_code == 2 and "HH:MM" in wrong.output


def test_a_planned_journey_is_timed_by_the_trips_that_serve_its_legs() -> None:
    from urbanpulse.transit.raptor import TimedLeg, compute_timed_leg_profile

    timetable = _timetable()
    # A -> C on "R" as planned: the express X serves the same leg and arrives first
    legs = [TimedLeg("A", "C", 0.0)]
    profile = compute_timed_leg_profile(timetable, legs, period_minutes=15)
    eight = 8 * 4  # the period starting 08:00
    assert profile[eight, 0].tolist() == [5.0, 14.0]  # x1 leaves 08:05, arrives 08:14
    assert profile[eight + 1, 0].tolist() == [5.0, 25.0]  # 08:15: r2 at 08:20 -> 08:40
    assert np.isnan(profile[eight + 2]).all()  # 08:30: nothing left
    # an hour before the first train: no service, not a 60-minute wait
    assert np.isnan(profile[7 * 4 - 1]).all() and np.isfinite(profile[7 * 4]).all()
    # A -> B, walk 3 minutes, D -> E: the walk decides which G trip is caught
    two = [TimedLeg("A", "B", 0.0), TimedLeg("D", "E", 3.0)]
    chained = compute_timed_leg_profile(timetable, two, period_minutes=15)
    assert chained[eight].tolist() == [[0.0, 10.0], [25.0, 43.0]]


@pytest.mark.shared_data
def test_advice_routes_on_a_real_timetable_ride_its_trips(
    shared_data: Path, tmp_path: Path
) -> None:
    """BART Dublin -> Richmond (a change at Lake Merritt): each slot's legs are times of
    stored trips, found again here from the stored stop times alone."""
    from urbanpulse.advise.counters import MemoryCounters
    from urbanpulse.advise.service import AdviceService
    from urbanpulse.settings import Settings
    from urbanpulse.store.networks import read_network_table
    from urbanpulse.transit import load_network

    lake = Lake(tmp_path / "lake")
    load_network(lake, shared_data / "gtfs-realtime" / "bart-2019" / "bart-rt.zip")
    settings = Settings(
        lake_path=tmp_path / "lake", local_timezone="America/Los_Angeles", holiday_country="US"
    )
    service = AdviceService(lake, settings, MemoryCounters())
    day = date(2019, 2, 11)
    (journey, profile), *_ = service.get_day_routes("bart-rt:DUBL", "bart-rt:RICH", day)
    timetable = read_timetable(lake, "bart-rt", day)
    stops = read_network_table(lake, "trip_stops").to_pandas()
    running = {t for route in timetable.routes for t in route.trip_ids}
    stops = stops[stops["trip_id"].isin(running)]

    def first_arrival(board: str, alight: str, ready_s: float) -> tuple[float, float]:
        on = stops[stops["site_id"] == board].merge(
            stops[stops["site_id"] == alight], on="trip_id", suffixes=("_b", "_a")
        )
        on = on[(on["stop_sequence_a"] > on["stop_sequence_b"]) & (on["departure_s_b"] >= ready_s)]
        best = on.sort_values(["arrival_s_a", "departure_s_b"]).iloc[0]
        return float(best["departure_s_b"]), float(best["arrival_s_a"])

    checked = 0
    for period in range(6 * 4, 21 * 4, 5):  # through the service day, every 75 minutes
        if not np.isfinite(profile[period]).all():
            continue
        start = period * 15 * 60.0
        ready = start
        for leg, (boards, arrives) in zip(journey.legs, profile[period], strict=True):
            ready += leg.walk_minutes * 60
            _, arrival = first_arrival(leg.from_site_id, leg.to_site_id, ready)
            assert start + arrives * 60 == arrival
            assert start + boards * 60 >= ready
            ready = arrival
        checked += 1
    assert checked >= 10
