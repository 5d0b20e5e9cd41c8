"""The advice clock: fixed, replayed after the data, and the planning day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from urbanpulse.advise.clock import (
    Clock,
    build_clock,
    get_default_window,
    get_planning_day,
    get_planning_day_end,
)

TZ = ZoneInfo("Asia/Shanghai")


def test_a_fixed_clock_is_read_as_local_time() -> None:
    clock = build_clock(None, fixed=datetime(2026, 11, 2, 6), tz=TZ, country="CN")
    assert clock.mode == "fixed" and clock.now == datetime(2026, 11, 2, 6, tzinfo=TZ)
    assert clock.planning_day == date(2026, 11, 2)  # a Monday, before 09:30
    assert clock.to_dict()["last_observation"] is None


def test_old_data_replays_the_day_after_it() -> None:
    last = datetime(2026, 10, 31, 15, 55, tzinfo=UTC)  # Saturday 23:55 in Beijing
    clock = build_clock(last, fixed=None, tz=TZ, country="CN")
    assert clock.mode == "replay" and clock.now == datetime(2026, 11, 1, tzinfo=TZ)
    assert clock.planning_day == date(2026, 11, 2)  # Sunday: the next working day
    assert "2026-10-31 23:55" in clock.note


def test_the_planning_day_skips_a_morning_that_is_over_and_holidays() -> None:
    assert get_planning_day(datetime(2026, 11, 2, 10, tzinfo=TZ), tz=TZ, country="CN") == date(
        2026, 11, 3
    )
    # National Day week: 2026-10-01..07 are holidays in China.
    assert get_planning_day(datetime(2026, 10, 1, 6, tzinfo=TZ), tz=TZ, country="CN") > date(
        2026, 10, 7
    )
    assert get_default_window(date(2026, 11, 2)) == (
        "2026-11-02T07:00", "2026-11-02T09:30", "2026-11-02T08:00"
    )  # fmt: skip


def test_a_metro_counted_at_its_gates_replays_after_its_data(tmp_path: Path) -> None:
    """Gate entries are crowding data: a lake holding only them replays, as one holding
    boardings does (else the live clock finds every window of 2019 in the past)."""
    import pyarrow as pa

    from urbanpulse.advise.clock import read_last_observation
    from urbanpulse.store import Lake, build_engine
    from urbanpulse.store.writes import append_observations

    lake = Lake(tmp_path / "lake")
    last = datetime(2019, 1, 18, 15, 50, tzinfo=UTC)
    table = pa.Table.from_pylist(
        [{"site_id": "hz-00", "metric": "entries", "ts": last, "value": 12.0, "unit": "passengers"}]
    )
    append_observations(lake, table)
    assert read_last_observation(lake, build_engine("duckdb")) == last
    clock = build_clock(
        read_last_observation(lake, build_engine("duckdb")), fixed=None, tz=TZ, country="CN"
    )
    assert clock.mode == "replay" and clock.now == datetime(2019, 1, 19, tzinfo=TZ)


def test_the_planning_day_holds_until_the_morning_window_ends_or_midnight() -> None:
    """How long a page's default day holds (the app's worker opens its kept copy that
    long at most): a live clock moves it at 09:30 and at midnight; a clock that stands
    still moves it only with new data."""

    def live(hour: int, minute: int = 0) -> Clock:
        now = datetime(2026, 11, 2, hour, minute, tzinfo=TZ)  # a Monday
        return Clock(now, "live", get_planning_day(now, tz=TZ, country="CN"), None, "")

    assert get_planning_day_end(live(8)) == datetime(2026, 11, 2, 9, 30, tzinfo=TZ)
    assert get_planning_day_end(live(9, 30)) == datetime(2026, 11, 3, tzinfo=TZ)
    assert get_planning_day_end(live(23)) == datetime(2026, 11, 3, tzinfo=TZ)
    for hour, minute in ((8, 0), (9, 29), (9, 30), (23, 59)):
        clock, end = live(hour, minute), get_planning_day_end(live(hour, minute))
        assert end is not None and end > clock.now
        just_before = end.timestamp() - 1
        assert (
            get_planning_day(datetime.fromtimestamp(just_before, TZ), tz=TZ, country="CN")
            == clock.planning_day
        )  # nothing moves it before the end
    fixed = build_clock(None, fixed=datetime(2026, 11, 2, 8), tz=TZ, country="CN")
    assert get_planning_day_end(fixed) is None
