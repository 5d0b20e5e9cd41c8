"""Schedules: service times, modes, vehicle capacities and service per 15-minute period.

Times of day are seconds after midnight of the service day and may pass 24:00 (GTFS
writes a trip that leaves at ten past one after midnight as 25:10:00).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from urbanpulse.errors import ConfigurationError

__all__ = [
    "DAY_TYPES",
    "DEFAULT_CAPACITIES",
    "PERIOD_MINUTES",
    "compute_line_service",
    "get_capacities",
    "get_mode",
    "get_site_kind",
    "get_time_text",
    "read_time",
]

PERIOD_MINUTES = 15
DAY_TYPES = ("weekday", "saturday", "sunday")

# Passengers per vehicle (a whole train for metro and rail), crush-free planning loads:
# a 6-car Beijing B-type metro train carries about 1,460; a suburban train about 1,000;
# a tram 200; a standard 12 m bus 80. Callers and `transit load --capacity` override them.
DEFAULT_CAPACITIES: dict[str, float] = {
    "metro": 1460.0,
    "rail": 1000.0,
    "tram": 200.0,
    "bus": 80.0,
    "ferry": 300.0,
    "cable": 60.0,
    "other": 80.0,
}

_TIME = re.compile(r"^\s*(\d{1,3}):([0-5]\d):([0-5]\d)\s*$")
_SHORT_TIME = re.compile(r"^\s*(\d{1,2}):([0-5]\d)\s*$")


def read_time(text: object) -> int | None:
    """Seconds after midnight from 'H:MM:SS' or 'HH:MM' (past 24:00 allowed), else None."""
    if not isinstance(text, str):
        return None
    found = _TIME.match(text) or _SHORT_TIME.match(text)
    if not found:
        return None
    hours, minutes = int(found.group(1)), int(found.group(2))
    seconds = int(found.group(3)) if found.lastindex == 3 else 0
    return hours * 3600 + minutes * 60 + seconds


def get_time_text(seconds: float | None) -> str | None:
    """'HH:MM:SS' for seconds after midnight (25:10:00 past midnight), None for missing."""
    if seconds is None or pd.isna(seconds):
        return None
    total = round(float(seconds))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def get_mode(route_type: int) -> str:
    """The mode of a GTFS route type, basic (0-12) or extended (100-1700)."""
    basic = {0: "tram", 1: "metro", 2: "rail", 3: "bus", 4: "ferry", 5: "tram", 6: "cable",
             7: "cable", 11: "bus", 12: "metro"}  # fmt: skip
    if route_type in basic:
        return basic[route_type]
    extended = {1: "rail", 2: "bus", 4: "metro", 5: "metro", 6: "metro", 7: "bus", 8: "bus",
                9: "tram", 10: "ferry", 12: "ferry", 13: "cable", 14: "cable"}  # fmt: skip
    return extended.get(route_type // 100, "other")


def get_site_kind(mode: str) -> str:
    """The site kind of a stop served by ``mode`` (bus_stop, metro_station, rail_station)."""
    return {"metro": "metro_station", "rail": "rail_station"}.get(mode, "bus_stop")


def get_capacities(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """Vehicle capacity per mode: the defaults with ``overrides`` applied.

    Raises
    ------
    ConfigurationError
        For an unknown mode or a capacity that is not positive.
    """
    capacities = dict(DEFAULT_CAPACITIES)
    for mode, value in (overrides or {}).items():
        if mode not in DEFAULT_CAPACITIES:
            raise ConfigurationError(
                f"unknown mode {mode!r} for a capacity; use one of {sorted(DEFAULT_CAPACITIES)}"
            )
        if not value > 0:
            raise ConfigurationError(f"capacity of {mode} must be positive, not {value}")
        capacities[mode] = float(value)
    return capacities


def compute_line_service(departures: pd.DataFrame, capacity: Mapping[str, float]) -> pd.DataFrame:
    """Service per 15-minute period from the departures of representative days.

    ``departures`` has one row per vehicle leaving its first stop: line_id, direction,
    day_type, departure_s (seconds after midnight), run_s (first to last stop, may be
    NaN). ``capacity`` maps line_id to passengers per vehicle.

    Returns
    -------
    pandas.DataFrame
        Columns line_id, direction, day_type, period_start (minutes after midnight, may
        pass 1440), period_minutes, departures, headway_minutes (median gap from a
        departure of the period to the next), capacity (departures x vehicle capacity), run_minutes (median run
        of the period's departures).
    """
    columns = ["line_id", "direction", "day_type", "period_start", "period_minutes",
               "departures", "headway_minutes", "capacity", "run_minutes"]  # fmt: skip
    if departures.empty:
        return pd.DataFrame(columns=columns)
    frame = departures.assign(
        period_start=(departures["departure_s"] // (PERIOD_MINUTES * 60)).astype(int)
        * PERIOD_MINUTES,
        gap_s=_get_gaps(departures),
    )
    grouped = frame.groupby(["line_id", "direction", "day_type", "period_start"], sort=True)
    service = grouped.agg(
        departures=("departure_s", "size"), run_s=("run_s", "median"), gap_s=("gap_s", "median")
    ).reset_index()
    service["period_minutes"] = PERIOD_MINUTES
    # The gap to the next departure, so a bus every 40 minutes waits as one; a lone
    # departure of the day falls back to the period's length.
    service["headway_minutes"] = (
        (service["gap_s"] / 60).fillna(PERIOD_MINUTES / service["departures"]).round(2)
    )
    service["capacity"] = service["departures"] * service["line_id"].map(capacity).astype(float)
    service["run_minutes"] = np.round(service["run_s"] / 60, 2)
    return service[columns]


def _get_gaps(departures: pd.DataFrame) -> pd.Series:
    """Seconds from each departure to the next of its line, direction and day (to the
    one before, for the day's last)."""
    ordered = departures.sort_values("departure_s")
    keys = [ordered["line_id"], ordered["direction"], ordered["day_type"]]
    after = ordered.groupby(keys)["departure_s"].diff(-1).abs()
    before = ordered.groupby(keys)["departure_s"].diff(1)
    return after.fillna(before).reindex(departures.index)


def compute_station_capacity(line_stops: pd.DataFrame, line_service: pd.DataFrame) -> pd.Series:
    """Peak capacity of each station: passengers per 15 minutes in one direction.

    A station's capacity in a period adds the capacity of every line direction that
    stops there; halving it gives one direction (the unit of the demo's stations and of
    the crowding advice reads). The peak is the busiest weekday period, or the busiest
    period of any day where a feed runs no weekday.

    Returns
    -------
    pandas.Series
        Capacity by site_id (stations without scheduled service are left out).
    """
    if line_stops.empty or line_service.empty:
        return pd.Series(dtype=float)
    stops = line_stops[["line_id", "direction", "site_id"]].drop_duplicates()
    weekday = line_service[line_service["day_type"] == "weekday"]
    service = weekday if not weekday.empty else line_service
    joined = stops.merge(service, on=["line_id", "direction"])
    per_period = joined.groupby(["site_id", "day_type", "period_start"])["capacity"].sum()
    directions = stops.groupby("site_id")["direction"].nunique().clip(lower=1)
    # Both directions of a line stop at most stations: half is one direction's room.
    share = (2 / directions).clip(upper=1.0) / 2
    peak = per_period.groupby(level="site_id").max()
    return (peak * share.reindex(peak.index).fillna(0.5)).round(0)
