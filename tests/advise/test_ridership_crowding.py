"""Ridership counted at the gates of a loaded network's station becomes crowding: riders
per period in one direction against the capacity its timetable gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from urbanpulse.advise.forecasts import get_count_scale, read_forecast_table
from urbanpulse.catalog import Site, build_sites_table
from urbanpulse.forecast.protocol import CalendarSpec
from urbanpulse.store import Lake, append_observations, build_engine
from urbanpulse.store.networks import replace_network
from urbanpulse.transit.schedule import compute_station_capacity

CALENDAR = CalendarSpec(tz="Asia/Shanghai", country="CN")
START = pd.Timestamp("2026-03-02T06:00:00+08:00")  # a Monday


def _service() -> pd.DataFrame:
    # A train every 3 minutes both ways at 08:00 (5 x 1460), every 10 minutes at 12:00.
    rows = []
    for direction in ("0", "1"):
        for start, departures in ((8 * 60, 5), (12 * 60, 1.5)):
            rows.append(
                {"line_id": "t:red", "direction": direction, "day_type": "weekday",
                 "period_start": start, "departures": departures,
                 "capacity": departures * 1460.0}
            )  # fmt: skip
    return pd.DataFrame(rows)


def test_a_station_has_its_busiest_period_in_one_direction() -> None:
    stops = pd.DataFrame(
        {"line_id": ["t:red"] * 4, "direction": ["0", "0", "1", "1"],
         "site_id": ["t:A", "t:B", "t:B", "t:A"]}
    )  # fmt: skip
    capacity = compute_station_capacity(stops, _service())
    assert capacity.to_dict() == {"t:A": 7300.0, "t:B": 7300.0}


@pytest.fixture()
def counted_lake(tmp_path: Path) -> Lake:
    lake = Lake(tmp_path)
    sites = build_sites_table(
        [Site(site_id="t:A", kind="metro_station", name_en="Alpha", capacity=7300.0)]
    )
    replace_network(lake, "t", {}, sites=sites)
    ts = pd.date_range(START.normalize(), periods=15 * 144, freq="10min")
    ts = ts[(ts.hour >= 6)]  # the gates open at 06:00
    hour = ts.hour + ts.minute / 60
    entries = 200 + 1800 * np.exp(-((hour - 8) ** 2) / 0.5)
    frame = pd.DataFrame(
        {"site_id": "t:A", "metric": "entries", "ts": ts.tz_convert("UTC"),
         "value": entries, "unit": "persons/10min"}
    )  # fmt: skip
    append_observations(lake, pa.Table.from_pandas(frame, preserve_index=False))
    return lake


def test_entries_every_10_minutes_read_as_riders_per_15_minutes(counted_lake: Lake) -> None:
    metric, scale = get_count_scale(counted_lake, "t:A", 7300.0, 15)
    # 1.5 readings per 15 minutes, half of the riders each way, against 7,300 places.
    assert metric == "entries" and scale == pytest.approx(1.5 * 0.5 / 7300.0)


def test_a_loaded_station_with_counted_riders_gets_a_crowding_forecast(counted_lake: Lake) -> None:
    day = pd.Timestamp("2026-03-17T00:00:00+08:00")  # a Tuesday after the history
    table = read_forecast_table(
        counted_lake,
        ["t:A"],
        start=day,
        end=day + pd.Timedelta(days=1),
        calendar=CALENDAR,
        engine=build_engine("duckdb"),
    )
    local = pd.DatetimeIndex(table["slot"]).tz_convert("Asia/Shanghai")
    peak = table["load"][(local.hour == 8) & (local.minute == 0)].iloc[0]
    noon = table["load"][(local.hour == 12) & (local.minute == 0)].iloc[0]
    assert peak == pytest.approx(2000 * 1.5 * 0.5 / 7300, rel=0.15)
    assert noon < peak / 4
    assert (table["capacity"] == 7300.0).all()


def test_hourly_counts_give_each_quarter_hour_its_own_hour_s_share(tmp_path: Path) -> None:
    """Gate counts per hour read at 15-minute advice: the four slots of an hour carry a
    quarter of that hour's riders each, never the hour before's value."""
    lake = Lake(tmp_path)
    sites = build_sites_table(
        [Site(site_id="t:H", kind="metro_station", name_en="Hourly", capacity=7300.0)]
    )
    replace_network(lake, "t", {}, sites=sites)
    ts = pd.date_range(START.normalize(), periods=15 * 24, freq="h")
    entries = np.where(ts.hour == 8, 2400.0, 400.0)
    frame = pd.DataFrame(
        {"site_id": "t:H", "metric": "entries", "ts": ts.tz_convert("UTC"),
         "value": entries, "unit": "persons/h"}
    )  # fmt: skip
    append_observations(lake, pa.Table.from_pandas(frame, preserve_index=False))
    day = pd.Timestamp("2026-03-17T00:00:00+08:00")
    table = read_forecast_table(
        lake, ["t:H"], start=day, end=day + pd.Timedelta(days=1), calendar=CALENDAR,
        engine=build_engine("duckdb"),
    )  # fmt: skip
    local = pd.DatetimeIndex(table["slot"]).tz_convert("Asia/Shanghai").strftime("%H:%M")
    load = pd.Series(table["load"].to_numpy(), index=local)
    share = 0.25 * 0.5 / 7300.0  # a quarter of the hour, one direction, against capacity
    assert load[["08:00", "08:15", "08:30", "08:45"]].tolist() == pytest.approx(
        [2400 * share] * 4, rel=0.05
    )
    assert load["07:45"] == pytest.approx(400 * share, rel=0.05)
    assert load["09:15"] == pytest.approx(400 * share, rel=0.05)


def test_a_forecast_weeks_past_the_data_is_the_usual_day_not_flat(counted_lake: Lake) -> None:
    """Past a model's reach (two days after the last reading) the usual weekday answers:
    a model issued across the gap only carried its last values (a flat 0 % was shown)."""
    day = pd.Timestamp("2026-03-31T00:00:00+08:00")  # a Tuesday, two weeks after the data
    table = read_forecast_table(
        counted_lake, ["t:A"], start=day, end=day + pd.Timedelta(days=1), calendar=CALENDAR,
        engine=build_engine("duckdb"),
    )  # fmt: skip
    local = pd.DatetimeIndex(table["slot"]).tz_convert("Asia/Shanghai")
    peak = table["load"][(local.hour == 8) & (local.minute == 0)].iloc[0]
    noon = table["load"][(local.hour == 12) & (local.minute == 0)].iloc[0]
    assert peak == pytest.approx(2000 * 1.5 * 0.5 / 7300, rel=0.15)
    assert noon < peak / 4
