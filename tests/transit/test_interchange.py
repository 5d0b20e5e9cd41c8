"""Networks loaded apart meet where a rider can change: two feeds whose stations stand
within a walk of each other are planned as one, on the timetable and by the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from urbanpulse.store import Lake
from urbanpulse.transit import load_network
from urbanpulse.transit.network import read_transit_network
from urbanpulse.transit.raptor import plan, read_timetable

CALENDAR = (
    "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
    "WK,1,1,1,1,1,0,0,20260302,20260313\n"
)
# A metro from Central to Harbour, and a railway from Harbour's own station (about 80 m
# away, another name) to Riverside. Both feeds name their trips "1" and "2".
METRO = {
    "agency.txt": "agency_name,agency_url,agency_timezone\nMetro,http://x,Asia/Shanghai\n",
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n"
    "C,Central,39.9000,116.4000\nH,Harbour,39.9300,116.4000\n",
    "routes.txt": "route_id,route_short_name,route_type\nM1,1,1\n",
    "trips.txt": "route_id,service_id,trip_id\nM1,WK,1\nM1,WK,2\n",
    "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
    "1,08:00:00,08:00:00,C,1\n1,08:10:00,08:10:00,H,2\n"
    "2,08:20:00,08:20:00,C,1\n2,08:30:00,08:30:00,H,2\n",
    "calendar.txt": CALENDAR,
}
RAIL = {
    "agency.txt": "agency_name,agency_url,agency_timezone\nRail,http://y,Asia/Shanghai\n",
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n"
    "P,Harbour Pier,39.9307,116.4000\nR,Riverside,39.9900,116.4000\n",
    "routes.txt": "route_id,route_short_name,route_type\nR1,R,2\n",
    "trips.txt": "route_id,service_id,trip_id\nR1,WK,1\nR1,WK,2\n",
    "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
    "1,08:15:00,08:15:00,P,1\n1,08:40:00,08:40:00,R,2\n"
    "2,08:45:00,08:45:00,P,1\n2,09:10:00,09:10:00,R,2\n",
    "calendar.txt": CALENDAR,
}
DAY = date(2026, 3, 4)  # a Wednesday


@pytest.fixture
def lake(load_feeds: Callable[[dict[str, dict[str, str]]], Lake]) -> Lake:
    return load_feeds({"metro": METRO, "rail": RAIL})


def test_two_feeds_meet_where_their_stations_stand_a_walk_apart(lake: Lake) -> None:
    transfers = read_transit_network(lake).transfers.set_index(["from_site_id", "to_site_id"])
    # 78 m apart: the least walk, both ways
    assert transfers.loc[("metro:H", "rail:P"), "walk_minutes"] == 2.0
    assert ("rail:P", "metro:H") in transfers.index
    assert ("metro:C", "rail:R") not in transfers.index  # 10 km: no walk
    timetable = read_timetable(lake, ["metro", "rail"], DAY)
    journey = plan(timetable, ["metro:C"], ["rail:R"], 8 * 3600)
    assert journey is not None and journey.arrives_s == 8 * 3600 + 40 * 60
    # The metro's 08:00 (arrives 08:10, walk 2 min) makes the 08:15 train; each "1" is
    # its own feed's trip.
    assert [(r.trip_id, r.board, r.alight) for r in journey.rides] == [
        ("metro:1", "metro:C", "metro:H"),
        ("rail:1", "rail:P", "rail:R"),
    ]
    # Either feed alone has no such journey.
    assert plan(read_timetable(lake, "metro", DAY), ["metro:C"], ["rail:R"], 8 * 3600) is None


def test_the_command_plans_across_two_feeds(lake: Lake) -> None:
    from typer.testing import CliRunner

    from urbanpulse.cli import app

    args = ["transit", "journey", "Central", "Riverside", "--day", DAY.isoformat()]
    result = CliRunner().invoke(app, [*args, "--at", "08:05", "--lake", str(lake.root), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    # Ready at 08:05: the metro's 08:20 reaches Harbour at 08:30, the 08:45 train 09:10.
    assert [r["departs"] for r in body["rides"]] == ["08:20", "08:45"]
    assert body["arrives"] == "09:10"
    # The plain answer in the shell's language: its words, the lines by name.
    plain = [*args, "--at", "08:05", "--lake", str(lake.root)]
    chinese = CliRunner().invoke(app, plain, env={"LANG": "zh_CN.UTF-8"})
    assert chinese.exit_code == 0, chinese.output
    assert "09:10 到达" in chinese.output and "车次" in chinese.output
    assert "arrive" not in chinese.output and "metro:M1" not in chinese.output
    english = CliRunner().invoke(app, ["--lang", "en", *plain])
    assert "Central → Riverside: arrive 09:10 (65 min, 2 rides)" in english.output


def test_advice_times_a_journey_across_two_feeds_by_both_timetables(lake: Lake) -> None:
    from urbanpulse.advise.counters import MemoryCounters
    from urbanpulse.advise.service import AdviceService
    from urbanpulse.settings import Settings

    service = AdviceService(lake, Settings(lake_path=lake.root), MemoryCounters())
    (journey, legs), *_ = service.get_day_routes("metro:C", "rail:R", DAY)
    assert [leg.network_id for leg in journey.legs] == ["metro", "rail"]
    # Leaving at 08:00 (period 32 of 15 minutes): the 08:00 metro, then the 08:15 train.
    departs, arrives = legs[32, 1]
    assert (departs, arrives) == (15.0, 40.0)


def test_two_stops_a_walk_apart_are_told_to_walk(lake: Lake) -> None:
    """Harbour and Harbour Pier stand 78 m apart: no ride beats the walk, and the
    answer says so rather than offering a train (the timetable's earliest arrival is
    on foot too)."""
    from urbanpulse.advise.counters import MemoryCounters
    from urbanpulse.advise.service import AdviceService
    from urbanpulse.errors import InvalidQueryError
    from urbanpulse.settings import Settings

    service = AdviceService(lake, Settings(lake_path=lake.root), MemoryCounters())
    with pytest.raises(InvalidQueryError, match="2-minute walk apart"):
        service.get_day_routes("metro:H", "rail:P", DAY)
    found = plan(read_timetable(lake, ["metro", "rail"], DAY), ["metro:H"], ["rail:P"], 8 * 3600)
    assert found is not None and found.rides == () and found.minutes == 2.0


@pytest.mark.shared_data
def test_bart_and_caltrain_meet_at_millbrae(shared_data: Path, tmp_path: Path) -> None:
    """Two real feeds loaded apart: BART's Millbrae and Caltrain's platforms, 50 m
    apart, are one interchange, and a journey from San Francisco's Embarcadero to Palo
    Alto rides BART to Millbrae and Caltrain on."""
    from urbanpulse.transit.journeys import JourneyPlanner

    lake = Lake(tmp_path / "lake")
    realtime = shared_data / "gtfs-realtime"
    load_network(lake, realtime / "bart-2019" / "bart-rt.zip")
    load_network(lake, realtime / "caltrain-2023-11-08" / "ct.zip")
    network = read_transit_network(lake)
    walks = network.transfers
    millbrae = walks[(walks["from_site_id"] == "bart-rt:MLBR")]
    assert set(millbrae["to_site_id"]) >= {"ct:70061", "ct:70062"}
    assert (millbrae["walk_minutes"] <= 3).all()
    journeys = JourneyPlanner(network).compute_journeys("bart-rt:EMBR", "ct:70171")
    assert journeys, "no journey from Embarcadero to Palo Alto"
    changes = [(leg.network_id, leg.from_site_id, leg.to_site_id) for leg in journeys[0].legs]
    assert changes[0][0] == "bart-rt" and changes[-1][0] == "ct"
    assert any(to == "bart-rt:MLBR" for _, _, to in changes)
