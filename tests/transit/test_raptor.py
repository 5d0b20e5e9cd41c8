"""RAPTOR on a hand-made timetable (answers worked out by hand) and on a real feed
against the stored trips themselves."""

from __future__ import annotations

import json
from collections.abc import Iterator
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
    # long before the first train: that train, after the wait, as a timetable says
    first = profile[7 * 4]
    assert profile[7 * 4 - 4].tolist() == [[first[0, 0] + 60, first[0, 1] + 60]]
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


@pytest.mark.shared_data
def test_frequency_trips_leave_once_per_headway(shared_data: Path, tmp_path: Path) -> None:
    """The GTFS sample's CITY1 runs from frequencies.txt: every 30 minutes from 06:00,
    every 10 from 08:00. A rider ready at 08:03 takes the 08:10 departure, not the
    template's 06:00 times."""
    from urbanpulse.transit import load_network

    lake = Lake(tmp_path / "lake")
    network = load_network(lake, shared_data / "gtfs" / "sample_gtfs.zip")
    timetable = read_timetable(lake, network.network_id, date(2008, 1, 7))  # a Monday
    city = [r for r in timetable.routes if any(t.startswith("CITY1@") for t in r.trip_ids)]
    departures = sorted(t for r in city for t in r.trip_ids)
    assert "CITY1@06:00:00" in departures and "CITY1@08:10:00" in departures
    assert "CITY1" not in departures  # the template is not a trip of its own
    route = city[0]
    board = route.stops[0]
    journey = plan(timetable, [board], [route.stops[1]], 8 * 3600 + 180)
    assert journey is not None and journey.rides[0].trip_id == "CITY1@08:10:00"
    assert journey.rides[0].departs_s == 8 * 3600 + 600


def test_the_pareto_set_trades_a_change_for_an_earlier_arrival() -> None:
    from urbanpulse.transit.raptor import plan_pareto

    timetable = _timetable()
    # A -> C at 08:00: the express arrives 08:14 in one ride, and nothing with more
    # rides beats it; so the set has one journey
    assert [j.arrives_s for j in plan_pareto(timetable, ["A"], ["C"], 8 * 3600)] == [8 * 3600 + 840]
    # ready at 08:06 (the express gone): R's 08:20 train, alone
    late = plan_pareto(timetable, ["A"], ["C"], 8 * 3600 + 360)
    assert [(len(j.rides), j.arrives_s) for j in late] == [(1, 8 * 3600 + 2400)]
    # A -> E needs two rides: no one-ride journey exists, so the set starts at two
    to_e = plan_pareto(timetable, ["A"], ["E"], 8 * 3600)
    assert [len(j.rides) for j in to_e] == [2]


def test_a_slow_direct_train_and_a_faster_change_are_both_offered() -> None:
    from urbanpulse.transit.raptor import plan_pareto

    trips = pd.DataFrame({"trip_id": ["s", "f", "g"], "line_id": ["S", "F", "G"]})
    rows = [("s", 0, "A", 8 * 3600), ("s", 1, "Z", 9 * 3600),
            ("f", 0, "A", 8 * 3600), ("f", 1, "M", 8 * 3600 + 600),
            ("g", 0, "M", 8 * 3600 + 720), ("g", 1, "Z", 8 * 3600 + 1800)]  # fmt: skip
    stops = pd.DataFrame(rows, columns=["trip_id", "stop_sequence", "site_id", "arrival_s"])
    stops["departure_s"] = stops["arrival_s"]
    walks = pd.DataFrame(columns=["from_site_id", "to_site_id", "walk_minutes"])
    timetable = build_timetable("t", DAY, trips, stops, walks)
    frontier = plan_pareto(timetable, ["A"], ["Z"], 8 * 3600)
    assert [([r.trip_id for r in j.rides], j.arrives_s) for j in frontier] == [
        (["s"], 9 * 3600),
        (["f", "g"], 8 * 3600 + 1800),
    ]
    assert plan(timetable, ["A"], ["Z"], 8 * 3600) == frontier[-1]


class _InOrder(set[str]):
    """A set that iterates in a chosen order, as string hashing may order it."""

    def __init__(self, order: list[str]) -> None:
        super().__init__(order)
        self.order = order

    def __iter__(self) -> Iterator[str]:
        return iter(self.order)


def test_one_walk_between_rides_whatever_order_the_stops_come_in() -> None:
    """P and Q are both reached by a ride (08:10, 08:20); a walk P -> Q (2 min) makes Q
    08:12, and Q -> Z is a 3-minute walk. Z is reached at 08:23 (one walk, from Q's
    ride), never 08:15 by walking P -> Q -> Z: which one a process gave depended on how
    its string hashing ordered the stops (a Cairns journey arrived 23 minutes before
    the timetable allows in some processes)."""
    from urbanpulse.transit.raptor import _Labels, _walk

    walks = pd.DataFrame(
        {"from_site_id": ["P", "Q"], "to_site_id": ["Q", "Z"], "walk_minutes": [2.0, 3.0]}
    )
    trips = pd.DataFrame({"trip_id": ["a"], "line_id": ["A"]})
    stops = pd.DataFrame(
        [("a", 0, "P", 0.0), ("a", 1, "Q", 60.0)],
        columns=["trip_id", "stop_sequence", "site_id", "arrival_s"],
    ).assign(departure_s=lambda f: f["arrival_s"])
    timetable = build_timetable("t", DAY, trips, stops, walks)
    for order in (["P", "Q"], ["Q", "P"]):
        labels = _Labels(max_rides=1)
        labels.improve_ride(1, "P", 8 * 3600 + 600.0, ("ride",))
        labels.improve_ride(1, "Q", 8 * 3600 + 1200.0, ("ride",))
        _walk(timetable, _InOrder(order), labels, 1, set())
        assert labels.arrivals[1]["Q"] == 8 * 3600 + 720
        assert labels.arrivals[1]["Z"] == 8 * 3600 + 1380, order


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("feed", "day"),
    [
        ("gtfs-realtime/bart-2019/bart-rt.zip", date(2019, 2, 11)),
        ("gtfs/cairns_gtfs.zip", date(2014, 5, 30)),
    ],
)
def test_one_range_pass_answers_every_start_as_separate_searches_do(
    shared_data: Path, tmp_path: Path, feed: str, day: date
) -> None:
    """The range search keeps its labels from later starts: for every quarter hour of
    the day its Pareto set (arrival, rides) is the one a search from that start alone
    finds, and every journey it gives can be ridden (each trip boarded after the walk
    to it, never before the start)."""
    from urbanpulse.transit import load_network
    from urbanpulse.transit.raptor import plan_pareto, plan_range

    lake = Lake(tmp_path / "lake")
    network_id = load_network(lake, shared_data / feed).network_id
    timetable = read_timetable(lake, network_id, day)
    stops = sorted(timetable.routes_at)
    rng = np.random.default_rng(7)
    starts = [slot * 900.0 for slot in range(96)]
    for origin, destination in rng.choice(stops, (6, 2), replace=False):
        ranged = plan_range(timetable, [origin], [destination], starts)
        for start, frontier in zip(starts, ranged, strict=True):
            alone = plan_pareto(timetable, [origin], [destination], start)
            assert [(j.arrives_s, len(j.rides)) for j in frontier] == [
                (j.arrives_s, len(j.rides)) for j in alone
            ], (origin, destination, start)
            for journey in frontier:
                here, clock = origin, start
                for ride in journey.rides:
                    assert ride.departs_s >= clock + timetable.get_walk_seconds(here, ride.board)
                    here, clock = ride.alight, ride.arrives_s
                assert clock + timetable.get_walk_seconds(here, destination) == journey.arrives_s


def test_a_ride_to_the_stop_next_door_is_walked_on_from_though_a_walk_got_there_first() -> None:
    """O and N stand a 3-minute walk apart, D 2 minutes on from N. From 08:00 the walk
    reaches N at 08:03, but one walk is allowed between rides, so the way to D is the
    08:05 bus to N (08:06) and the walk: at D 08:08. The bus's later arrival at N is
    kept for walking on, though it does not improve N."""
    walks = pd.DataFrame(
        {"from_site_id": ["O", "N"], "to_site_id": ["N", "D"], "walk_minutes": [3.0, 2.0]}
    )
    trips = pd.DataFrame({"trip_id": ["b"], "line_id": ["B"]})
    stops = pd.DataFrame(
        [("b", 0, "O", 8 * 3600 + 300.0), ("b", 1, "N", 8 * 3600 + 360.0)],
        columns=["trip_id", "stop_sequence", "site_id", "arrival_s"],
    ).assign(departure_s=lambda f: f["arrival_s"])
    timetable = build_timetable("t", DAY, trips, stops, walks)
    journey = plan(timetable, ["O"], ["D"], 8 * 3600)
    assert journey is not None and journey.arrives_s == 8 * 3600 + 480
    assert [(r.trip_id, r.board, r.alight) for r in journey.rides] == [("b", "O", "N")]
    assert plan(timetable, ["O"], ["N"], 8 * 3600).rides == ()  # N itself: on foot
