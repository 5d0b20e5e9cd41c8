"""GTFS-Realtime in, on a tiny static feed and messages built here with the official
bindings: delays against the timetable past midnight, stops placed by position, and
unresolvable entities in quarantine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from google.transit import gtfs_realtime_pb2 as rt

from urbanpulse.store import Lake, read_observations, read_quarantine
from urbanpulse.transit import load_network
from urbanpulse.transit.realtime import read_realtime_feed

FEED = {
    "agency.txt": "agency_name,agency_url,agency_timezone\nTiny,http://x,Asia/Shanghai\n",
    "stops.txt": (
        "stop_id,stop_name,stop_lat,stop_lon\n"
        "A,Central,39.9000,116.4000\nB,Market,39.9100,116.4000\nC,Harbour,39.9200,116.4000\n"
    ),
    "routes.txt": "route_id,route_short_name,route_type\nM1,1,1\n",
    "trips.txt": "route_id,service_id,trip_id,direction_id\nM1,WK,T1,0\nM1,WK,T2,0\n",
    "stop_times.txt": (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,08:00:00,08:00:00,A,1\nT1,08:05:00,08:06:00,B,2\nT1,08:12:00,08:12:00,C,3\n"
        "T2,24:50:00,24:50:00,A,1\nT2,24:55:00,24:55:00,B,2\nT2,25:10:00,25:10:00,C,3\n"
    ),
    "calendar.txt": (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "WK,1,1,1,1,1,0,0,20260302,20260313\n"
    ),
}
# 2026-03-04 (a Wednesday) in Shanghai, UTC+8.
MIDNIGHT = int(datetime(2026, 3, 3, 16, 0, tzinfo=UTC).timestamp())


@pytest.fixture
def lake(load_feeds: Callable[[dict[str, dict[str, str]]], Lake]) -> Lake:
    return load_feeds({"tiny": FEED})


def build_message() -> bytes:
    message = rt.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    message.header.timestamp = MIDNIGHT + 24 * 3600 + 40 * 60  # 00:40 the next morning
    late = message.entity.add(id="late")
    # Past midnight: 24:55 of the 4th is 00:55 on the 5th; predicted 2 minutes late,
    # with neither start_date nor delay given.
    late.trip_update.trip.trip_id = "T2"
    stop = late.trip_update.stop_time_update.add(stop_sequence=2, stop_id="B")
    stop.departure.time = MIDNIGHT + 24 * 3600 + 55 * 60 + 120
    lost = late.trip_update.stop_time_update.add(stop_sequence=9, stop_id="ZZZ")
    lost.departure.time = MIDNIGHT + 25 * 3600
    ghost = message.entity.add(id="ghost")
    ghost.trip_update.trip.trip_id = "T404"
    ghost.trip_update.stop_time_update.add(stop_sequence=1, stop_id="A").arrival.delay = 30
    bus = message.entity.add(id="bus")
    bus.vehicle.trip.trip_id = "T2"
    bus.vehicle.position.latitude, bus.vehicle.position.longitude = 39.9199, 116.4001
    bus.vehicle.timestamp = MIDNIGHT + 25 * 3600
    bus.vehicle.occupancy_status = rt.VehiclePosition.STANDING_ROOM_ONLY
    bus.vehicle.occupancy_percentage = 85
    return message.SerializeToString()


def test_delays_positions_and_quarantine_on_a_tiny_feed(lake: Lake) -> None:
    summary = read_realtime_feed(lake, build_message(), source="tiny.pb", network_id="tiny")
    assert (summary.trip_updates, summary.stop_time_updates, summary.vehicle_positions) == (2, 3, 1)
    assert summary.stored == {"stop_time_updates": 1, "vehicle_positions": 1, "alerts": 0}
    assert summary.quarantined["stop_time_updates"] == 2
    delay = read_observations(lake, "departure_delay")
    assert delay["site_id"].tolist() == ["tiny:B"] and delay["value"].tolist() == [120.0]
    scheduled = datetime.fromtimestamp(MIDNIGHT + 24 * 3600 + 55 * 60, UTC)
    assert delay["ts"].iloc[0].to_pydatetime() == scheduled
    occupancy = read_observations(lake, "occupancy_percentage")
    assert occupancy["site_id"].tolist() == ["tiny:C"] and occupancy["value"].tolist() == [85.0]
    status = read_observations(lake, "occupancy_status")
    assert status["value"].tolist() == [float(rt.VehiclePosition.STANDING_ROOM_ONLY)]
    rejected = read_quarantine(lake, source="tiny.pb").sort_values("line")
    assert rejected["reason"].tolist() == ["unknown stop", "unknown trip"]
    assert rejected["line"].tolist() == [0, 1]  # the entities' positions in the feed
    assert rejected["column_name"].tolist() == [
        "trip_update.stop_time_update[1].stop_id",
        "trip_update.stop_time_update[0].trip.trip_id",
    ]
    again = read_realtime_feed(lake, build_message(), source="tiny.pb", network_id="tiny")
    assert again.already_read and len(read_quarantine(lake, source="tiny.pb")) == 2


def test_two_trips_at_one_stop_and_second_both_count_and_corrections_are_versions(
    tmp_path: Path,
) -> None:
    """T1 and an express T3 both leave B at 08:06:00: each trip's delay is kept; a later
    snapshot that corrects T1 adds a version, one that repeats it or is older adds none."""
    import duckdb

    from urbanpulse.store.engine import scan_sql

    folder = tmp_path / "twins"
    folder.mkdir()
    feed = dict(FEED)
    feed["trips.txt"] += "M1,WK,T3,0\n"
    feed["stop_times.txt"] += "T3,08:06:00,08:06:00,B,1\nT3,08:10:00,08:10:00,C,2\n"
    for name, text in feed.items():
        (folder / name).write_text(text, encoding="utf-8")
    lake = Lake(tmp_path / "lake")
    load_network(lake, folder, network_id="tiny")
    eight = MIDNIGHT + 8 * 3600  # 08:00 on the 4th

    def snapshot(at: int, t1_delay: int) -> bytes:
        message = rt.FeedMessage()
        message.header.gtfs_realtime_version = "2.0"
        message.header.timestamp = at
        for trip, delay in (("T1", t1_delay), ("T3", 30)):
            entity = message.entity.add(id=trip)
            entity.trip_update.trip.trip_id = trip
            entity.trip_update.trip.start_date = "20260304"
            stop = entity.trip_update.stop_time_update.add(stop_id="B")
            stop.departure.delay = delay
        return message.SerializeToString()

    first = read_realtime_feed(lake, snapshot(eight, -265), source="1.pb", network_id="tiny")
    assert first.stored["stop_time_updates"] == 2  # both trips, although one key
    corrected = read_realtime_feed(
        lake, snapshot(eight + 60, -211), source="2.pb", network_id="tiny"
    )
    assert corrected.stored["stop_time_updates"] == 1  # T1's correction
    assert corrected.already_stored["stop_time_updates"] == 1  # T3 said the same
    stale = read_realtime_feed(lake, snapshot(eight - 60, -300), source="0.pb", network_id="tiny")
    assert stale.stored["stop_time_updates"] == 0  # older than what is stored
    sql = scan_sql(lake, "realtime_predictions")
    versions = duckdb.sql(
        f"SELECT trip_id, delay_s FROM ({sql}) ORDER BY trip_id, feed_ts"
    ).fetchall()
    assert versions == [("T1", -265.0), ("T1", -211.0), ("T3", 30.0)]
    newest = duckdb.sql(
        f"SELECT trip_id, arg_max(delay_s, feed_ts) FROM ({sql}) GROUP BY trip_id ORDER BY 1"
    ).fetchall()
    assert newest == [("T1", -211.0), ("T3", 30.0)]


def test_an_implausible_occupancy_is_kept_aside_and_the_position_stored(lake: Lake) -> None:
    message = rt.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    message.header.timestamp = MIDNIGHT + 8 * 3600
    for name, share in (("full", 180), ("wrong", 420)):
        bus = message.entity.add(id=name)
        bus.vehicle.trip.trip_id = "T1"
        bus.vehicle.stop_id = "B"
        bus.vehicle.vehicle.id = name
        bus.vehicle.position.latitude, bus.vehicle.position.longitude = 39.91, 116.4
        bus.vehicle.timestamp = MIDNIGHT + 8 * 3600 - (60 if name == "full" else 0)
        bus.vehicle.occupancy_percentage = share
    summary = read_realtime_feed(
        lake, message.SerializeToString(), source="buses.pb", network_id="tiny"
    )
    assert summary.stored["vehicle_positions"] == 2  # both positions kept
    body = summary.to_dict()
    assert body["values_quarantined"] == 1 and body["quarantined_total"] == 1
    assert read_observations(lake, "occupancy_percentage")["value"].tolist() == [180.0]
    kept = read_quarantine(lake)
    assert kept["reason"].tolist() == ["occupancy_percentage 420 beyond the plausible 250 %"]
    assert kept["column_name"].tolist() == ["vehicle.occupancy_percentage"]
