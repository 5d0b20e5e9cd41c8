"""Road traffic in a bus journey's travel time: the speed forecasts of the road sensors
near a bus line stretch or shorten its ride by period of the day.

A timetable's run time is what the bus takes at the usual daytime speed. When road
sensors near the line forecast a lower speed at some period (rush hour, an incident
pattern), the moving part of the ride takes longer in proportion; dwell at stops does
not. The factor for a period is ``DWELL_SHARE + (1 - DWELL_SHARE) * usual / speed``,
``usual`` being the median forecast speed over the day's service hours, and is bounded
so that one bad reading cannot make a ride take all day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from urbanpulse.advise.forecasts import read_site_forecast
from urbanpulse.errors import InvalidQueryError, NotFoundError
from urbanpulse.forecast.protocol import CalendarSpec
from urbanpulse.store import Lake
from urbanpulse.store.interface import Engine
from urbanpulse.transit.journeys import PERIOD_MINUTES, PERIODS_PER_DAY, Journey
from urbanpulse.transit.transfers import get_metres

ROAD_MODES = ("bus", "tram", "trolleybus")
# Share of a bus ride spent standing at stops and lights, which speed does not change.
DWELL_SHARE = 0.3
FACTOR_BOUNDS = (0.7, 3.0)
# Road sensors this close to a line's stops speak for its roads.
NEAR_METRES = 5000.0
NEAREST_SENSORS = 3
SERVICE_HOURS = (6 * 60, 22 * 60)


def read_road_factors(
    lake: Lake,
    journey: Journey,
    sites: pd.DataFrame,
    *,
    day: date,
    calendar: CalendarSpec,
    engine: Engine,
) -> dict[str, np.ndarray]:
    """Ride-time factors by 15-minute period of local ``day`` for each bus line the
    journey rides, from the speed forecasts of road sensors near its stops.

    Returns
    -------
    dict
        line_id -> ``PERIODS_PER_DAY`` factors (1.0 = the timetable's time). Lines with
        no road sensor near them are left out.
    """
    sensors = sites[(sites["kind"] == "road_sensor") & sites["lat"].notna()]
    if sensors.empty:
        return {}
    factors: dict[str, np.ndarray] = {}
    for leg in journey.legs:
        if leg.mode not in ROAD_MODES or leg.line_id in factors:
            continue
        near = find_near_sensors(sensors, sites, list(leg.stops))
        speeds = [_read_day_speeds(lake, site_id, day, calendar, engine) for site_id in near]
        known = [s for s in speeds if s is not None]
        if known:
            factors[leg.line_id] = compute_ride_factors(np.nanmean(np.vstack(known), axis=0))
    return factors


def find_near_sensors(sensors: pd.DataFrame, sites: pd.DataFrame, stops: list[str]) -> list[str]:
    """The road sensors nearest to the stops' middle, within ``NEAR_METRES``."""
    placed = sites[sites["site_id"].isin(stops) & sites["lat"].notna()]
    if placed.empty:
        return []
    lat, lon = float(placed["lat"].mean()), float(placed["lon"].mean())
    metres = get_metres(lat, lon, sensors["lat"].to_numpy(float), sensors["lon"].to_numpy(float))
    order = np.argsort(metres)[:NEAREST_SENSORS]
    return [str(sensors["site_id"].iloc[k]) for k in order if metres[k] <= NEAR_METRES]


def compute_ride_factors(speeds: np.ndarray) -> np.ndarray:
    """Factors from forecast speeds by period (NaN where unknown: factor 1)."""
    first, last = (m // PERIOD_MINUTES for m in SERVICE_HOURS)
    daytime = speeds[first:last]
    if not np.isfinite(daytime).any():
        return np.ones(len(speeds))
    usual = float(np.nanmedian(daytime))
    with np.errstate(divide="ignore", invalid="ignore"):
        moving = usual / speeds
    factors = DWELL_SHARE + (1 - DWELL_SHARE) * moving
    factors = np.where(np.isfinite(factors), factors, 1.0)
    return np.clip(factors, *FACTOR_BOUNDS)


def _read_day_speeds(
    lake: Lake, site_id: str, day: date, calendar: CalendarSpec, engine: Engine
) -> np.ndarray | None:
    start = pd.Timestamp(datetime.combine(day, datetime.min.time(), ZoneInfo(calendar.tz)))
    slots = pd.date_range(start, start + timedelta(days=1), freq="15min", inclusive="left")
    try:
        frame = read_site_forecast(
            lake,
            site_id,
            "speed",
            slots,
            capacity=np.nan,
            scale=1.0,
            calendar=calendar,
            engine=engine,
        )
    except (NotFoundError, InvalidQueryError):
        return None
    keyed = frame.set_index(pd.DatetimeIndex(frame["slot"]).tz_convert("UTC"))["load"]
    values = keyed.reindex(slots.tz_convert("UTC")).to_numpy(float)
    return values if len(values) == PERIODS_PER_DAY else None
