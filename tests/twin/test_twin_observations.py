from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from urbanpulse.twin import Network, build_calendar, build_observations
from urbanpulse.twin.observations import OBSERVATION_COLUMNS, UNITS

SPAN_END = date(2026, 10, 7)


def _day_types() -> dict[date, str]:
    calendar = build_calendar(date(2026, 9, 24), SPAN_END)
    return dict(zip(calendar["date"], calendar["day_type"], strict=True))


def _hourly(frame: pd.DataFrame, metric: str, site_ids: list[str]) -> pd.DataFrame:
    """Mean per site and hour over all days of each day type."""
    rows = frame[(frame["metric"] == metric) & frame["site_id"].isin(site_ids)]
    rows = rows.assign(day_type=rows["day"].map(_day_types()), clock=rows["hour"].astype(int))
    per_day = rows.groupby(["site_id", "day_type", "day", "clock"])["value"].sum().reset_index()
    return per_day.groupby(["site_id", "day_type", "clock"])["value"].mean().unstack("clock")


def _roles(network: Network, role: str, kind: str = "metro_station") -> list[str]:
    p = network.params
    return p.loc[(p["role"] == role) & (p["kind"] == kind), "site_id"].tolist()


def test_table_has_its_columns_units_and_utc_times(observations: pd.DataFrame) -> None:
    assert list(observations.columns[:5]) == OBSERVATION_COLUMNS
    assert str(observations["ts"].dt.tz) == "UTC"
    assert set(observations["metric"]) == set(UNITS)
    units = observations.groupby("metric")["unit"].unique()
    assert all(list(units[m]) == [u] for m, u in UNITS.items())
    assert not observations.duplicated(["site_id", "metric", "ts"]).any()


def test_steps_are_five_minutes_and_air_is_hourly(observations: pd.DataFrame) -> None:
    minutes = observations["ts"].dt.minute
    air = observations["metric"].isin(["pm25", "no2"])
    assert set(minutes[air]) == {0}
    assert set(minutes[~air]) == set(range(0, 60, 5))
    first = observations["ts"].min().tz_convert("Asia/Shanghai")
    assert (first.date(), first.hour) == (date(2026, 9, 24), 0)


def test_workday_mornings_peak_above_nights_and_weekends(
    observations: pd.DataFrame, network: Network
) -> None:
    homes = _hourly(observations, "boardings", _roles(network, "res"))
    workday = homes.xs("workday", level="day_type")
    assert (workday[[7, 8]].max(axis=1) > 5 * workday[[22, 23]].max(axis=1)).all()
    offices = _hourly(observations, "boardings", _roles(network, "biz"))
    for table in (homes, offices):
        peaks = table.max(axis=1).unstack("day_type")
        assert (peaks["holiday"] < peaks["workday"]).mean() > 0.9
    # Offices empty out in the evening: their peak is then, not in the morning.
    office_day = offices.xs("workday", level="day_type")
    assert (office_day[[17, 18]].max(axis=1) > office_day[[7, 8]].max(axis=1)).mean() > 0.9


def test_stations_by_sights_are_busier_on_holidays(
    observations: pd.DataFrame, network: Network
) -> None:
    sights = _hourly(
        observations, "boardings", _roles(network, "tour") + _roles(network, "tour", "rail_station")
    )
    totals = sights.sum(axis=1).unstack("day_type")
    assert (totals["holiday"] > totals["workday"]).mean() > 0.8


def test_roads_slow_down_in_the_rush_hour(observations: pd.DataFrame, network: Network) -> None:
    beijing = network.params.query("kind == 'road_sensor' and city_code == '110000'")[
        "site_id"
    ].tolist()
    speed = _hourly(observations, "speed", beijing).xs("workday", level="day_type")
    assert (speed[8] < 0.85 * speed[3]).mean() > 0.8


def test_busy_stations_touch_but_mostly_respect_capacity(
    observations: pd.DataFrame, network: Network
) -> None:
    capacity = network.params.set_index("site_id")["capacity"]
    rows = observations[
        (observations["metric"] == "boardings") & observations["site_id"].str.startswith("bj-m")
    ]
    quarter = rows.assign(q=rows["ts"].dt.floor("15min")).groupby(["site_id", "q"])["value"].sum()
    share = 0.7 * quarter / capacity.reindex(quarter.index.get_level_values(0)).to_numpy()
    assert share.max() > 0.8
    assert (share > 1.05).mean() < 0.01


def test_dropouts_leave_gaps(observations: pd.DataFrame, network: Network) -> None:
    five_minute = observations[observations["metric"] == "flow"]
    full = network.params["kind"].eq("road_sensor").sum() * 14 * 288
    assert 0.9 * full < len(five_minute) < full


def test_smog_and_values_stay_physical(observations: pd.DataFrame) -> None:
    values = observations.groupby("metric")["value"]
    assert (values.min() >= 0).all()
    assert values.max()["load"] <= 1.4
    pm25 = observations[observations["metric"] == "pm25"]
    assert pm25["value"].max() > 2.5 * pm25["value"].median()


def test_observations_are_deterministic_by_seed(network: Network) -> None:
    one = build_observations(network, seed=5, weeks=1, end=SPAN_END)
    again = build_observations(network, seed=5, weeks=1, end=SPAN_END)
    other = build_observations(network, seed=6, weeks=1, end=SPAN_END)
    assert one.equals(again)
    assert not one.equals(other)
    assert isinstance(one, pa.Table) and one.num_rows > 100_000
    assert np.isfinite(one["value"].to_numpy()).all()


def test_each_direction_has_a_load_and_the_busier_one_is_load(
    observations: pd.DataFrame, network: Network
) -> None:
    loads = observations[observations["metric"].isin(["load", "load_up", "load_down"])]
    wide = loads.pivot_table(index=["site_id", "ts"], columns="metric", values="value")
    assert not wide.isna().any().any()  # a reading lost is lost in both directions
    assert np.allclose(wide[["load_up", "load_down"]].max(axis=1), wide["load"])
    # Line 1 of Beijing runs west to east through the centre: in a workday's morning
    # peak its western stations' trains are fuller eastbound (up, towards the middle)
    # and its eastern stations' westbound; in the evening peak the other way round;
    # the quieter direction then carries about 0.3 / 0.7 of the busier one's load.
    stations = network.params.query("line_id == 'bj-m1'")["site_id"].tolist()
    west, east = stations[:3], stations[-3:]
    local = wide.reset_index()
    local = local.assign(local=local["ts"].dt.tz_convert("Asia/Shanghai"))
    workday = local["local"].dt.date.map(_day_types()) == "workday"
    hour = local["local"].dt.hour
    up_share = local["load_up"] / local["load_down"]
    for hours, west_up in (([8], True), ([18], False)):
        peak = workday & hour.isin(hours)
        west_ratio = up_share[peak & local["site_id"].isin(west)].median()
        east_ratio = up_share[peak & local["site_id"].isin(east)].median()
        assert bool(west_ratio > 1.5) is west_up, (hours, west_ratio)
        assert bool(east_ratio < 1 / 1.5) is west_up, (hours, east_ratio)
        quieter = min(west_ratio, 1 / west_ratio)
        assert 0.35 < quieter < 0.6
    # Off-peak, and at a line's middle, the directions come close.
    night = workday & hour.isin([13, 14])
    middle = stations[len(stations) // 2 - 1 : len(stations) // 2 + 1]
    assert 0.85 < up_share[night & local["site_id"].isin(middle)].median() < 1.2


def test_buses_report_their_load_as_trains_do(observations: pd.DataFrame, network: Network) -> None:
    stops = network.params.query("kind == 'bus_stop'")["site_id"].tolist()
    loads = observations[observations["metric"].eq("load") & observations["site_id"].isin(stops)]
    assert set(loads["site_id"]) == set(stops)
    rush = loads[loads["hour"].between(7.5, 8.5)]
    assert 0.4 < rush["value"].quantile(0.9) < 1.1  # standing room, short of a crush
