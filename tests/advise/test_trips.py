"""Trips along a line (both ways, loops the shorter way) and departure windows."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from urbanpulse.advise import build_trip, build_window, check_window, read_stations
from urbanpulse.errors import InvalidQueryError, NotFoundError

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def test_read_stations_unpacks_line_attributes(sites: pd.DataFrame) -> None:
    stations = read_stations(sites)
    assert list(stations.columns) == [
        "site_id", "kind", "name_en", "capacity", "line_id", "sequence", "minutes_to_next", "loop"
    ]  # fmt: skip
    assert "air-1" not in set(stations["site_id"])
    assert len(stations) == 9


def test_travel_time_along_a_line_both_ways(sites: pd.DataFrame) -> None:
    up = build_trip(sites, "a-s01", "a-s04")
    down = build_trip(sites, "a-s04", "a-s01")
    assert up.travel_minutes == down.travel_minutes == 3 + 2 + 4
    assert [(s.site_id, s.offset_minutes) for s in up.segments] == [
        ("a-s01", 0), ("a-s02", 3), ("a-s03", 5)
    ]  # fmt: skip
    assert [(s.site_id, s.offset_minutes) for s in down.segments] == [
        ("a-s04", 0), ("a-s03", 4), ("a-s02", 6)
    ]  # fmt: skip
    assert {s.direction for s in up.segments} == {"up"}
    assert {s.direction for s in down.segments} == {"down"}
    assert build_trip(sites, "a-s03", "a-s02").travel_minutes == 2


def test_loop_line_takes_the_shorter_way(sites: pd.DataFrame) -> None:
    # Loop links: 1->2 2, 2->3 3, 3->4 2, 4->5 5, 5->1 4 (16 minutes round).
    forward = build_trip(sites, "l-s01", "l-s03")
    assert forward.travel_minutes == 5
    assert forward.segments[0].direction == "up"
    backward = build_trip(sites, "l-s01", "l-s04")  # 7 forward, 9 back: forward
    assert backward.travel_minutes == 7
    round_back = build_trip(sites, "l-s02", "l-s05")  # 10 forward, 6 back (2->1->5)
    assert round_back.travel_minutes == 6
    assert [(s.site_id, s.offset_minutes) for s in round_back.segments] == [
        ("l-s02", 0), ("l-s01", 2)
    ]  # fmt: skip
    assert {s.direction for s in round_back.segments} == {"down"}


def test_single_site_trip(sites: pd.DataFrame) -> None:
    trip = build_trip(sites, "air-1")
    assert trip.travel_minutes == 0
    assert [s.segment_id for s in trip.segments] == ["air-1:here"]


def test_beijing_zhangjiakou_takes_47_minutes() -> None:
    from urbanpulse.twin import build_network

    sites = build_network(2026).sites.to_pandas()
    assert build_trip(sites, "bjzjk-r-s01", "bjzjk-r-s09").travel_minutes == 47
    assert build_trip(sites, "bjzjk-r-s09", "bjzjk-r-s01").travel_minutes == 47


def test_unknown_station_is_not_found(sites: pd.DataFrame) -> None:
    with pytest.raises(NotFoundError, match="nowhere"):
        build_trip(sites, "a-s01", "nowhere")
    with pytest.raises(NotFoundError):
        build_trip(sites, "nowhere")


def test_stations_on_different_lines_are_refused(sites: pd.DataFrame) -> None:
    with pytest.raises(InvalidQueryError, match="one line"):
        build_trip(sites, "a-s01", "l-s02")
    with pytest.raises(InvalidQueryError, match="not a station"):
        build_trip(sites, "a-s01", "air-1")
    with pytest.raises(InvalidQueryError, match="same station"):
        build_trip(sites, "a-s01", "a-s01")


def test_window_reads_local_time() -> None:
    window = build_window("2026-11-02 07:00", "2026-11-02 09:00", "2026-11-02 08:00")
    assert window.start.isoformat() == "2026-11-02T07:00:00+08:00"
    assert build_window("2026-11-02 07:00", "2026-11-02 09:00").preferred == window.start


@pytest.mark.parametrize(
    ("start", "end", "preferred", "message"),
    [
        ("2026-11-02 09:00", "2026-11-02 07:00", None, "ends before it starts"),
        ("2026-11-02 07:00", "2026-11-03 07:15", None, "longer than 24 hours"),
        ("2026-10-30 07:00", "2026-10-30 09:00", None, "in the past"),
        ("2026-11-02 07:00", "2026-11-02 09:00", "2026-11-02 10:00", "outside"),
    ],
)
def test_bad_windows_are_refused(start: str, end: str, preferred: str | None, message: str) -> None:
    with pytest.raises(InvalidQueryError, match=message):
        check_window(build_window(start, end, preferred), now=NOW)


def test_a_window_that_has_begun_starts_now() -> None:
    window = build_window("2026-11-02 07:00", "2026-11-02 09:00", "2026-11-02 07:10")
    now = datetime(2026, 11, 1, 23, 30, tzinfo=UTC)  # 07:30 in Beijing
    checked = check_window(window, now=now)
    assert checked.start == now
    assert checked.preferred == now
