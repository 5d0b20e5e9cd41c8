"""Advice on a network with a timetable offers the timetable's own journeys: every
slot's earliest arrival is one of the routes, and a station only some trips serve can
be planned to."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from urbanpulse.advise.counters import MemoryCounters
from urbanpulse.advise.service import PERIOD_MINUTES, AdviceService
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.transit import load_network
from urbanpulse.transit.raptor import plan, read_timetable

CALENDAR = (
    "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
    "WK,1,1,1,1,1,0,0,20260302,20260313\n"
)
# Line 1 runs Central - Market - Harbour three times; once, at 08:20, a rush-hour
# train turns at Market to the Depot, which no other train serves.
FEED = {
    "agency.txt": "agency_name,agency_url,agency_timezone\nTiny,http://x,Asia/Shanghai\n",
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nA,Central,39.90,116.40\n"
    "B,Market,39.91,116.40\nC,Harbour,39.92,116.40\nX,Depot,39.91,116.42\n",
    "routes.txt": "route_id,route_short_name,route_type\nM1,1,1\n",
    "trips.txt": "route_id,service_id,trip_id\nM1,WK,T1\nM1,WK,T2\nM1,WK,T3\nM1,WK,R1\n",
    "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
    + "".join(
        f"{trip},{hour}:{m:02d}:00,{hour}:{m:02d}:00,{stop},{k + 1}\n"
        for trip, hour, start in (("T1", "08", 0), ("T2", "08", 30), ("T3", "09", 0))
        for k, (stop, m) in enumerate((("A", start), ("B", start + 5), ("C", start + 12)))
    )
    + "R1,08:20:00,08:20:00,A,1\nR1,08:25:00,08:25:00,B,2\nR1,08:35:00,08:35:00,X,3\n",
    "calendar.txt": CALENDAR,
}
DAY = date(2026, 3, 4)  # a Wednesday


def test_a_station_only_a_rush_hour_train_serves_is_advised_on_its_timetable(
    load_feeds: Callable[[dict[str, dict[str, str]]], Lake],
) -> None:
    lake = load_feeds({"tiny": FEED})
    service = AdviceService(lake, Settings(lake_path=lake.root), MemoryCounters())
    (journey, legs), *_ = service.get_day_routes("tiny:A", "tiny:X", DAY)
    assert [(leg.from_site_id, leg.to_site_id) for leg in journey.legs] == [("tiny:A", "tiny:X")]
    # Leaving at 08:15 (slot 33): the 08:20 train, at the Depot 08:35, 20 minutes on.
    assert tuple(legs[33, 0]) == (5.0, 20.0)
    # Leaving at 07:00 (slot 28): the same train after an 80-minute wait, as a
    # timetable planner answers; at 08:30 none goes there again that day.
    assert tuple(legs[28, 0]) == (80.0, 95.0)
    assert np.isnan(legs[34, 0]).all()


@pytest.mark.shared_data
def test_every_slot_s_earliest_arrival_is_among_the_advised_routes(
    shared_data: Path, tmp_path: Path
) -> None:
    """Caltrain, whose expresses pass local stations: for station pairs along the line,
    at every slot of the day with a train later on, the best advised route
    arrives when the timetable's earliest journey does (RAPTOR from the platforms)."""
    lake = Lake(tmp_path / "lake")
    load_network(lake, shared_data / "gtfs-realtime" / "caltrain-2023-11-08" / "ct.zip")
    settings = Settings(lake_path=lake.root, local_timezone="America/Los_Angeles",
                        holiday_country="US")  # fmt: skip
    service = AdviceService(lake, settings, MemoryCounters())
    day = date(2023, 9, 25)
    timetable = read_timetable(lake, "ct", day)
    # (San Francisco, Mountain View), (22nd Street, Palo Alto), (Hillsdale, San Jose)
    pairs = [("ct:70012", "ct:70212"), ("ct:70022", "ct:70172"), ("ct:70112", "ct:70262")]
    compared = 0
    for origin, destination in pairs:
        routes = service.get_day_routes(origin, destination, day)
        for slot in range(5 * 60 // PERIOD_MINUTES, 22 * 60 // PERIOD_MINUTES):
            start = slot * PERIOD_MINUTES * 60.0
            earliest = plan(timetable, [origin], [destination], start)
            if earliest is None:
                continue  # nothing runs later that day
            advised = min(
                legs[slot, -1, 1] + journey.walk_after_minutes
                for journey, legs in routes
                if np.isfinite(legs[slot, -1, 1])
            )
            assert start + 60 * advised == pytest.approx(earliest.arrives_s), (origin, slot)
            compared += 1
    assert compared > 100
