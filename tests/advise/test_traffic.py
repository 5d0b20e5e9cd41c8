"""Road traffic in bus travel times: speed forecasts of nearby road sensors stretch rides."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from urbanpulse.advise.service import build_advice_service
from urbanpulse.advise.traffic import (
    DWELL_SHARE,
    FACTOR_BOUNDS,
    compute_ride_factors,
    read_road_factors,
)
from urbanpulse.forecast.protocol import CalendarSpec
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, build_engine, read_sites
from urbanpulse.transit.journeys import PERIODS_PER_DAY

DAY = date(2026, 11, 2)  # the Monday after the demo's last data


def test_a_slower_road_stretches_only_the_moving_part() -> None:
    speeds = np.full(PERIODS_PER_DAY, 40.0)
    speeds[32] = 20.0  # 08:00: half the usual speed
    speeds[0] = np.nan
    factors = compute_ride_factors(speeds)
    assert factors[32] == pytest.approx(DWELL_SHARE + (1 - DWELL_SHARE) * 2)
    assert factors[50] == pytest.approx(1.0) and factors[0] == 1.0


@given(st.lists(st.floats(0.1, 150.0), min_size=PERIODS_PER_DAY, max_size=PERIODS_PER_DAY))
def test_factors_stay_within_bounds_and_fall_as_speed_rises(values: list[float]) -> None:
    speeds = np.asarray(values)
    factors = compute_ride_factors(speeds)
    assert np.all((factors >= FACTOR_BOUNDS[0]) & (factors <= FACTOR_BOUNDS[1]))
    order = np.argsort(speeds)
    assert np.all(np.diff(factors[order]) <= 1e-12)


def test_a_bus_journey_takes_longer_at_rush_hour_than_a_metro_one(demo_lake: Lake) -> None:
    settings = Settings(lake_path=demo_lake.root)
    service = build_advice_service(settings, demo_lake)
    bus = service.get_journeys("bd-b1-s01", "bd-b1-s10")[0]
    assert bus.legs[0].mode == "bus"
    sites = read_sites(demo_lake)
    calendar = CalendarSpec.from_settings(settings)
    factors = read_road_factors(
        demo_lake, bus, sites, day=DAY, calendar=calendar, engine=build_engine("duckdb")
    )
    line = bus.legs[0].line_id
    assert set(factors) == {leg.line_id for leg in bus.legs} and line.startswith("bd-b")
    rush, night = factors[line][32:38].max(), factors[line][4:8].mean()
    assert rush > 1.05 > night  # the demo's roads slow down in the morning peak
    trip = service.get_trip("bd-b1-s01", "bd-b1-s10", day=DAY)
    profile = np.asarray(trip.travel_profile)
    assert np.nanmax(profile[30:38]) > np.nanmin(profile[40:64])
    metro = service.get_journeys("bj-m1-s01", "bj-m1-s10")[0]
    assert (
        read_road_factors(
            demo_lake, metro, sites, day=DAY, calendar=calendar, engine=build_engine("duckdb")
        )
        == {}
    )
