"""Journeys with transfers over the demo's lines and over a small stored network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from urbanpulse.advise.trips import build_journey_trip
from urbanpulse.catalog import Site, build_sites_table
from urbanpulse.errors import InvalidQueryError, NotFoundError
from urbanpulse.store import Lake, upsert_sites
from urbanpulse.store.networks import replace_network
from urbanpulse.transit.journeys import JourneyPlanner, parse_clock
from urbanpulse.transit.network import read_transit_network
from urbanpulse.twin.network import build_network


@pytest.fixture(scope="module")
def demo_planner(tmp_path_factory: pytest.TempPathFactory) -> JourneyPlanner:
    lake = Lake(tmp_path_factory.mktemp("demo-network"))
    upsert_sites(lake, build_network(2026).sites)
    return JourneyPlanner(read_transit_network(lake))


def _site(planner: JourneyPlanner, name_zh: str, line: str) -> str:
    stations = planner.network.stations
    rows = stations[(stations["name_zh"] == name_zh) & stations["site_id"].str.startswith(line)]
    return str(rows["site_id"].iloc[0])


def test_a_journey_that_changes_lines(demo_planner: JourneyPlanner) -> None:
    origin, destination = (
        _site(demo_planner, "西直门", "bj-m2"),
        _site(demo_planner, "国贸", "bj-m1"),
    )
    journeys = demo_planner.compute_journeys(origin, destination)
    best = journeys[0]
    assert best.transfers == 1
    assert best.legs[0].from_site_id == origin and best.legs[-1].to_site_id == destination
    assert best.legs[-1].line_id == "bj-m1"
    # The change of line happens at one interchange: same name, a walk between platforms.
    names = demo_planner.network.stations.set_index("site_id")["name_zh"]
    assert names[best.legs[0].to_site_id] == names[best.legs[1].from_site_id]
    assert best.legs[1].walk_minutes > 0
    assert best.travel_minutes == pytest.approx(sum(leg.minutes for leg in best.legs))


def test_alternatives_are_distinct_and_ranked(demo_planner: JourneyPlanner) -> None:
    origin, destination = (
        _site(demo_planner, "西直门", "bj-m2"),
        _site(demo_planner, "国贸", "bj-m1"),
    )
    journeys = demo_planner.compute_journeys(origin, destination)
    assert 2 <= len(journeys) <= 3
    assert len({j.line_keys for j in journeys}) == len(journeys)
    # The origin's other platform (Line 4) is part of the same station.
    assert {j.legs[0].line_id for j in journeys} >= {"bj-m2", "bj-m4"}


def test_a_loop_line_goes_the_short_way_round(demo_planner: JourneyPlanner) -> None:
    first, last = _site(demo_planner, "西直门", "bj-m2"), _site(demo_planner, "积水潭", "bj-m2")
    best = demo_planner.compute_journeys(first, last)[0]
    assert best.transfers == 0 and best.legs[0].direction == "down"
    assert best.legs[0].ride_minutes == 2


def test_errors_name_the_problem(demo_planner: JourneyPlanner) -> None:
    xizhimen = _site(demo_planner, "西直门", "bj-m2")
    with pytest.raises(NotFoundError):
        demo_planner.compute_journeys(xizhimen, "nowhere")
    with pytest.raises(InvalidQueryError, match="same station"):
        demo_planner.compute_journeys(xizhimen, _site(demo_planner, "西直门", "bj-m4"))
    with pytest.raises(InvalidQueryError, match="no journey"):
        demo_planner.compute_journeys(xizhimen, _site(demo_planner, "刘园", "tj-m1"))


def test_the_trip_reads_each_stop_when_the_train_leaves_it(demo_planner: JourneyPlanner) -> None:
    origin, destination = (
        _site(demo_planner, "中关村", "bj-m4"),
        _site(demo_planner, "国贸", "bj-m1"),
    )
    journey = demo_planner.compute_journeys(origin, destination)[0]
    trip = build_journey_trip(journey)
    offsets = [s.offset_minutes for s in trip.segments]
    assert offsets == sorted(offsets)
    assert offsets[0] == round(journey.legs[0].wait_minutes)
    assert {s.site_id for s in trip.segments} >= {origin, journey.legs[1].from_site_id}
    assert destination not in {s.site_id for s in trip.segments}
    assert trip.legs == journey.legs and trip.line_id == "bj-m4"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_every_journey_chains_its_legs(demo_planner: JourneyPlanner, data: st.DataObject) -> None:
    beijing = demo_planner.network.stations
    beijing = beijing[beijing["site_id"].str.match(r"bj-m\d")]["site_id"].tolist()
    origin = data.draw(st.sampled_from(beijing))
    destination = data.draw(st.sampled_from(beijing))
    group = demo_planner.network.get_station_group(origin)
    if destination in group:
        return
    for journey in demo_planner.compute_journeys(origin, destination):
        assert journey.legs[0].from_site_id in group
        assert journey.legs[-1].to_site_id in demo_planner.network.get_station_group(destination)
        for before, after in zip(journey.legs[:-1], journey.legs[1:], strict=True):
            assert after.from_site_id in demo_planner.network.get_station_group(before.to_site_id)
        assert all(leg.ride_minutes > 0 for leg in journey.legs)


@pytest.fixture()
def timed_planner(tmp_path: Path) -> JourneyPlanner:
    """Two lines crossing at C, with a schedule: A-B-C on 'red', C-D on 'blue'."""
    lake = Lake(tmp_path)
    names = {"A": "Alpha", "B": "Bravo", "C": "Charlie", "C2": "Charlie", "D": "Delta"}
    sites = build_sites_table(
        [Site(site_id=f"t:{k}", kind="metro_station", name_en=v) for k, v in names.items()]
    )
    stops = pd.DataFrame(
        {
            "line_id": ["t:red"] * 3 + ["t:blue"] * 2,
            "direction": ["0"] * 5,
            "sequence": [0, 1, 2, 0, 1],
            "site_id": ["t:A", "t:B", "t:C", "t:C2", "t:D"],
            "minutes_to_next": [5.0, 5.0, None, 10.0, None],
            "first_departure": ["06:00", None, None, "05:30:00", None],
            "last_departure": ["23:00", None, None, "24:30:00", None],
        }
    )
    lines = pd.DataFrame(
        {"line_id": ["t:red", "t:blue"], "direction": ["0", "0"], "mode": ["metro"] * 2}
    )
    service = pd.DataFrame(
        {
            "line_id": ["t:red"] * 2,
            "direction": ["0"] * 2,
            "day_type": ["weekday"] * 2,
            "period_start": [8 * 60, 22 * 60],
            "period_minutes": [15, 15],
            "headway_minutes": [2.0, 20.0],
            "run_minutes": [12.0, 8.0],
        }
    )
    transfers = pd.DataFrame(
        {"from_site_id": ["t:B"], "to_site_id": ["t:C2"], "walk_minutes": [8.0], "kind": ["nearby"]}
    )
    tables = {
        "transfers": pa.Table.from_pandas(transfers, preserve_index=False),
        "line_stops": pa.Table.from_pandas(stops, preserve_index=False),
        "lines": pa.Table.from_pandas(lines, preserve_index=False),
        "line_service": pa.Table.from_pandas(service, preserve_index=False),
    }
    replace_network(lake, "t", tables, sites=sites)
    return JourneyPlanner(read_transit_network(lake))


def test_stored_networks_join_stops_of_the_same_name(timed_planner: JourneyPlanner) -> None:
    journey = timed_planner.compute_journeys("t:A", "t:D")[0]
    assert [leg.line_id for leg in journey.legs] == ["t:red", "t:blue"]
    assert journey.legs[1].from_site_id == "t:C2"


def test_times_follow_the_schedule_of_the_period(timed_planner: JourneyPlanner) -> None:
    journey = timed_planner.compute_journeys("t:A", "t:C")[0]
    rush = timed_planner.compute_travel_minutes(journey, 8 * 60, day_type="weekday")
    late = timed_planner.compute_travel_minutes(journey, 22 * 60, day_type="weekday")
    # Rush hour: a train every 2 min (1 min wait) but slow running (12 of a usual 10 min).
    assert rush == pytest.approx(1.0 + 10.0 * 1.2)
    assert late == pytest.approx(10.0 + 10.0 * 0.8)
    assert np.isnan(timed_planner.compute_travel_minutes(journey, 5 * 60, day_type="weekday"))
    profile = timed_planner.compute_travel_profile(journey, day_type="weekday")
    assert np.isnan(profile[0]) and profile[32] == pytest.approx(rush)


def test_service_past_midnight_counts_for_the_day_before(timed_planner: JourneyPlanner) -> None:
    journey = timed_planner.compute_journeys("t:C2", "t:D")[0]
    assert not np.isnan(timed_planner.compute_travel_minutes(journey, 20, day_type="weekday"))
    assert np.isnan(timed_planner.compute_travel_minutes(journey, 60, day_type="weekday"))


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("5:10", 310.0), ("25:10:00", 1510.0), ("00:23", 23.0), ("——", None), (None, None)],
)
def test_clock_times_may_pass_midnight(text: str | None, minutes: float | None) -> None:
    assert parse_clock(text) == minutes


def test_a_walk_may_open_a_journey_without_a_ride_that_goes_nowhere(
    timed_planner: JourneyPlanner,
) -> None:
    journey = timed_planner.compute_journeys("t:B", "t:D")[0]
    assert [leg.line_id for leg in journey.legs] == ["t:blue"]
    assert journey.legs[0].walk_minutes == 8.0 and journey.legs[0].from_site_id == "t:C2"
    for candidate in timed_planner.compute_journeys("t:A", "t:D"):
        assert all(
            leg.ride_minutes > 0 and leg.from_site_id != leg.to_site_id for leg in candidate.legs
        )


def test_a_loop_runs_through_its_seam_as_one_leg(demo_planner: JourneyPlanner) -> None:
    # Jishuitan is Line 2's last station in sequence and Chegongzhuang its second.
    last, second = _site(demo_planner, "积水潭", "bj-m2"), _site(demo_planner, "车公庄", "bj-m2")
    journey = demo_planner.compute_journeys(last, second)[0]
    assert len(journey.legs) == 1 and journey.legs[0].direction == "up"
    assert journey.legs[0].ride_minutes == 4


def test_a_route_whose_line_does_not_run_that_day_is_left_out(
    timed_planner: JourneyPlanner,
) -> None:
    from urbanpulse.advise.routes import compute_day_routes
    from urbanpulse.errors import InvalidQueryError

    journeys = timed_planner.compute_journeys("t:A", "t:D")
    running = compute_day_routes(
        timed_planner, journeys, service_day="weekday", runs=lambda line: True
    )
    assert [j for j, _ in running] == journeys
    with pytest.raises(InvalidQueryError, match="runs on that day"):
        compute_day_routes(
            timed_planner, journeys, service_day="weekday", runs=lambda line: line != "t:blue"
        )


def test_stations_of_one_name_far_apart_are_not_one_interchange() -> None:
    """Two 'Central' stations 1.4 km apart stay apart; two 300 m apart are joined by a
    walk as long as the distance takes (1.2 m/s), not a fixed four minutes."""
    from urbanpulse.transit.network import build_same_name_transfers

    stations = pd.DataFrame(
        {
            "site_id": ["a", "b", "c", "d"],
            "network_id": ["n"] * 4,
            "name_zh": [None] * 4,
            "name_en": ["Central", "Central", "Harbour", "Harbour"],
            "city_code": ["x"] * 4,
            # 0.0126 degrees of latitude are 1.4 km; 0.0027 are 300 m.
            "lat": [22.0, 22.0126, 22.1, 22.1027],
            "lon": [114.0, 114.0, 114.0, 114.0],
        }
    )
    joined = build_same_name_transfers(stations)
    assert set(zip(joined["from_site_id"], joined["to_site_id"], strict=True)) == {
        ("c", "d"),
        ("d", "c"),
    }
    assert joined["walk_minutes"].tolist() == pytest.approx([300 / 1.2 / 60] * 2, abs=0.05)
    # Without coordinates (the Beijing file) the fixed walk still joins them.
    unplaced = stations.assign(lat=float("nan"), lon=float("nan"))
    assert len(build_same_name_transfers(unplaced)) == 4


@pytest.mark.shared_data
def test_a_parent_station_is_asked_by_its_own_id(shared_data: Path, tmp_path: Path) -> None:
    """Caltrain's stations are GTFS parent stations (location_type 1) over two platforms;
    a journey asked between two of them rides from and to their platforms."""
    from urbanpulse.transit import load_network

    lake = Lake(tmp_path / "lake")
    load_network(lake, shared_data / "gtfs-realtime" / "caltrain-2023-11-08" / "ct.zip")
    network = read_transit_network(lake)
    assert network.platforms["ct:22nd_street"] == ("ct:70021", "ct:70022")
    journeys = JourneyPlanner(network).compute_journeys("ct:22nd_street", "ct:mountain_view")
    assert journeys and all(j.origin in ("ct:70021", "ct:70022") for j in journeys)
    assert all(j.destination.startswith("ct:702") and j.legs for j in journeys)


def test_a_network_sets_its_own_walk_radius() -> None:
    """A 294 m interchange is no walk at the default 250 m and a transfer at 350 m; a
    radius never joins what is farther (stops of one name: twice the radius)."""
    import pandas as pd

    from urbanpulse.transit.transfers import build_transfers, get_metres

    # three stops along a meridian: A, then B 294 m north, then C 1.4 km north of A
    north = 294 / 111_195  # degrees of latitude per metre on the mean Earth
    stops = pd.DataFrame(
        {
            "site_id": ["A", "B", "C"],
            "name": ["East", "West", "East"],
            "lat": [39.9, 39.9 + north, 39.9 + 1400 / 111_195],
            "lon": [116.4, 116.4, 116.4],
            "parent": [None, None, None],
        }
    )
    assert float(get_metres(39.9, 116.4, 39.9 + north, 116.4)) == pytest.approx(294, abs=1)
    default = build_transfers(stops)
    assert not ((default["from_site_id"] == "A") & (default["to_site_id"] == "B")).any()
    wider = build_transfers(stops, walk_metres=350)
    walk = wider[(wider["from_site_id"] == "A") & (wider["to_site_id"] == "B")]
    assert len(walk) == 1 and walk["kind"].iloc[0] == "nearby"
    assert walk["walk_minutes"].iloc[0] == pytest.approx(294 / 1.2 / 60, abs=0.1)
    # the two stops called East, 1.4 km apart, stay apart at either radius
    for table in (default, wider):
        assert not ((table["from_site_id"] == "A") & (table["to_site_id"] == "C")).any()
