"""Crowding forecasts per station and period, in the one shape advice reads.

A forecast table has one row per (site, period): the expected load against the site's
capacity with a p10-p90 interval, and the capacity itself (passengers per period), so
recommendations already issued can be turned into extra load. Where a forecasting
model exists (``urbanpulse.forecast.forecast_site``) it is used; otherwise the site's
period profile for the matching day type stands in, behind :func:`read_site_forecast`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from urbanpulse.catalog.calendar import get_day_types
from urbanpulse.errors import InvalidQueryError, NotFoundError
from urbanpulse.forecast.panel import floor_local
from urbanpulse.forecast.profiles import compute_profile
from urbanpulse.forecast.protocol import CalendarSpec
from urbanpulse.store import (
    Lake,
    get_site_metrics,
    read_observations,
    read_site_metrics,
    read_sites,
)
from urbanpulse.store.interface import Engine

FORECAST_COLUMNS = ["site_id", "slot", "load", "load_p10", "load_p90", "capacity"]
# Boardings count both directions; without a measured split, half go each way.
DIRECTION_SHARE = 0.5
# Riders counted at a station (boardings, or entries at the gates), in order of preference.
COUNT_METRICS = ("boardings", "entries")
# What a crowding forecast reads: a metro's load, else riders counted.
CROWDING_METRICS = ("load", *COUNT_METRICS)


@dataclass(frozen=True)
class ForecastLookup:
    """A forecast table indexed for fast reads: per site, slot starts and values."""

    period_minutes: int
    sites: dict[str, tuple[np.ndarray, np.ndarray]]  # site -> (slot epochs, (4, n) values)

    def get_values(self, site_id: str, slot_keys: np.ndarray) -> np.ndarray:
        """load, load_p10, load_p90, capacity at each slot: shape (4, len(slot_keys))."""
        if site_id not in self.sites:
            raise NotFoundError(f"no crowding forecast for site {site_id!r}")
        keys, values = self.sites[site_id]
        pos = np.clip(np.searchsorted(keys, slot_keys), 0, len(keys) - 1)
        if len(keys) == 0 or np.any(keys[pos] != slot_keys):
            missing = pd.Timestamp(int(slot_keys[keys[pos] != slot_keys][0]), unit="s", tz="UTC")
            raise NotFoundError(f"no crowding forecast for site {site_id!r} at {missing}")
        return values[:, pos]


def build_forecast_lookup(table: pd.DataFrame, *, period_minutes: int = 15) -> ForecastLookup:
    """Index a forecast table (``FORECAST_COLUMNS``) for :func:`compute_advice`."""
    frame = table.assign(key=_to_epoch(table["slot"])).sort_values(["site_id", "key"])
    sites = {}
    for site_id, rows in frame.groupby("site_id", sort=False):
        values = rows[["load", "load_p10", "load_p90", "capacity"]].to_numpy(float).T
        sites[str(site_id)] = (rows["key"].to_numpy(np.int64), values)
    return ForecastLookup(period_minutes, sites)


def compute_profile_forecast(
    profile: pd.DataFrame,
    site_id: str,
    slots: pd.DatetimeIndex,
    *,
    capacity: float,
    scale: float = 1.0,
    calendar: CalendarSpec,
) -> pd.DataFrame:
    """A forecast read off a period profile: each slot gets its day type's usual value.

    ``scale`` turns the profile's unit into load against capacity (1.0 when the metric
    already is a share of capacity); ``calendar`` (default: the settings') says which
    local period and day type a slot is. The profile has no p10, so it is mirrored from
    p90 about the median: p10 ~ max(0, 2 p50 - p90).

    Returns
    -------
    pandas.DataFrame
        Columns of ``FORECAST_COLUMNS``, one row per slot.
    """
    local = slots.tz_convert(calendar.tz)
    starts = np.unique(profile["period_start"].to_numpy())
    period = int(np.diff(starts).min()) if len(starts) > 1 else 15
    keys = pd.DataFrame(
        {
            "day_type": get_day_types(slots, tz=calendar.tz, country=calendar.country),
            "period_start": (local.hour * 60 + local.minute) // period * period,
        }
    )
    cells = keys.merge(profile, on=["day_type", "period_start"], how="left")
    # A day type never observed (a holiday in a short history) borrows the weekday.
    weekday = keys.assign(day_type="weekday").merge(
        profile, on=["day_type", "period_start"], how="left"
    )
    # A period never observed at all stays NaN: unknown, which advice shows as "no
    # forecast", never as an empty train.
    cells = cells.fillna(weekday[cells.columns])
    p10 = np.maximum(0.0, 2 * cells["p50"] - cells["p90"])
    return pd.DataFrame(
        {
            "site_id": site_id,
            "slot": slots.tz_convert("UTC"),
            "load": cells["mean"].to_numpy(float) * scale,
            "load_p10": p10.to_numpy(float) * scale,
            "load_p90": cells["p90"].to_numpy(float) * scale,
            "capacity": float(capacity),
        }
    )


def read_forecast_table(
    lake: Lake,
    site_ids: Sequence[str],
    *,
    start: datetime,
    end: datetime,
    period_minutes: int = 15,
    calendar: CalendarSpec,
    engine: Engine,
) -> pd.DataFrame:
    """Crowding forecasts of stations from ``start`` to ``end`` (both tz-aware).

    Metro stations use their ``load`` metric (already a share of capacity); other
    stations their ``boardings`` per period in one direction against capacity.
    ``calendar`` is the caller's time zone and holiday country; periods start on its
    local clock. Profiles are computed by ``engine``.

    Returns
    -------
    pandas.DataFrame
        Columns of ``FORECAST_COLUMNS``.
    """
    sites = read_sites(lake).set_index("site_id")
    first = floor_local(pd.DatetimeIndex([start]), period_minutes, tz=calendar.tz)[0]
    end_utc = pd.Timestamp(end).tz_convert("UTC")  # first is UTC: both ends in one zone
    slots = pd.date_range(first, end_utc, freq=f"{period_minutes}min", inclusive="left")
    wanted = list(dict.fromkeys(site_ids))
    # What each site reports, read once for all of them and only from the crowding
    # metrics' files (a lake of GTFS-Realtime delays holds far more of other metrics).
    reported = read_site_metrics(lake, wanted, metrics=CROWDING_METRICS).set_index("metric")
    parts = []
    for site_id in wanted:
        if site_id not in sites.index:
            raise NotFoundError(f"unknown station {site_id!r}")
        capacity = float(sites.at[site_id, "capacity"] or np.nan)
        kind = str(sites.at[site_id, "kind"])
        metrics = reported[reported["site_id"] == site_id].drop(columns="site_id")
        parts.append(
            _read_crowding_forecast(
                lake,
                site_id,
                kind,
                slots,
                capacity=capacity,
                calendar=calendar,
                engine=engine,
                metrics=metrics,
            )
        )
    return pd.concat(parts, ignore_index=True)[FORECAST_COLUMNS]


def read_site_forecast(
    lake: Lake,
    site_id: str,
    metric: str,
    slots: pd.DatetimeIndex,
    *,
    capacity: float,
    scale: float,
    calendar: CalendarSpec,
    engine: Engine,
    metrics: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One site's forecast: the forecasting model when there is one, else its profile
    (computed by ``engine``).

    ``calendar``: the sites' time zone and holiday country; ``metrics``: what the site
    reports, indexed by metric, when the caller has read it.

    Returns
    -------
    pandas.DataFrame
        Columns of ``FORECAST_COLUMNS``.
    """
    period = int(slots.freq.n if slots.freq is not None else 15)
    readings = read_recent_readings(lake, site_id, metric, metrics=metrics)
    native = readings.get_period(at_least=period)
    if native > period:
        # Readings coarser than the slots (hourly counts, 15-minute advice): forecast at
        # the readings' own period and give each slot its period's value, never another
        # hour's (the count scale then takes the slot's share of it).
        first = floor_local(slots[:1].tz_convert("UTC"), native, tz=calendar.tz)[0]
        coarse = pd.date_range(first, slots[-1].tz_convert("UTC"), freq=f"{native}min")
        frame = read_site_forecast(
            lake, site_id, metric, coarse, capacity=capacity, scale=scale,
            calendar=calendar, engine=engine, metrics=metrics,
        )  # fmt: skip
        covering = floor_local(slots.tz_convert("UTC"), native, tz=calendar.tz)
        values = frame.set_index(pd.DatetimeIndex(frame["slot"]).tz_convert("UTC"))
        values = values.reindex(covering)
        return values.assign(site_id=site_id, slot=slots.tz_convert("UTC")).reset_index(drop=True)[
            FORECAST_COLUMNS
        ]
    model = _get_forecast_site()
    frame = None
    # Past a model's reach (see MODEL_REACH) the usual day of the profile answers.
    within_reach = readings.last is None or slots[0] - readings.last <= MODEL_REACH
    if model is not None and within_reach:
        try:
            frame = model(
                lake,
                site_id,
                metric,
                start=slots[0].tz_convert("UTC"),
                horizon=len(slots),
                period_minutes=period,
                calendar=calendar,
            )
        except (InvalidQueryError, NotFoundError):
            frame = None  # too little recent history for a model: the profile still answers
    if frame is not None:
        return pd.DataFrame(
            {
                "site_id": site_id,
                "slot": pd.DatetimeIndex(frame["ts"]).tz_convert("UTC"),
                # No load is below zero, whatever a model's band says.
                "load": np.maximum(frame["yhat"].to_numpy(float), 0.0) * scale,
                "load_p10": np.maximum(frame["p10"].to_numpy(float), 0.0) * scale,
                "load_p90": np.maximum(frame["p90"].to_numpy(float), 0.0) * scale,
                "capacity": capacity,
            }
        )
    profile = compute_profile(
        lake,
        site_id,
        metric,
        period_minutes=period,
        tz=calendar.tz,
        country=calendar.country,
        engine=engine,
    )
    return compute_profile_forecast(
        profile, site_id, slots, capacity=capacity, scale=scale, calendar=calendar
    )


def _read_crowding_forecast(
    lake: Lake,
    site_id: str,
    kind: str,
    slots: pd.DatetimeIndex,
    *,
    capacity: float,
    calendar: CalendarSpec,
    engine: Engine,
    metrics: pd.DataFrame,
) -> pd.DataFrame:
    """A station's load against capacity: its ``load`` metric where it reports one (the
    demo's metro), else its counted riders (``COUNT_METRICS``) against its capacity.
    ``metrics``: what it reports, indexed by metric."""
    if kind == "metro_station" and "load" in metrics.index:
        try:
            return read_site_forecast(
                lake, site_id, "load", slots, capacity=capacity, scale=1.0,
                calendar=calendar, engine=engine, metrics=metrics,
            )  # fmt: skip
        except NotFoundError:
            pass  # no load readings: riders counted at the gates may still answer
    period = int(slots.freq.n if slots.freq else 15)
    metric, scale = get_count_scale(lake, site_id, capacity, period, metrics=metrics)
    return read_site_forecast(
        lake, site_id, metric, slots, capacity=capacity, scale=scale,
        calendar=calendar, engine=engine, metrics=metrics,
    )  # fmt: skip


def get_count_scale(
    lake: Lake,
    site_id: str,
    capacity: float,
    period_minutes: int,
    *,
    metrics: pd.DataFrame | None = None,
) -> tuple[str, float]:
    """The count metric a station reports and the factor that turns its forecast (the
    mean reading of a period) into one direction's riders per period against capacity.

    Raises
    ------
    NotFoundError
        No count metric, or no capacity to compare it with.
    """
    if metrics is None:
        metrics = get_site_metrics(lake, site_id).set_index("metric")
    found = [m for m in COUNT_METRICS if m in metrics.index]
    if not found:
        raise NotFoundError(f"station {site_id!r} reports no riders ({', '.join(COUNT_METRICS)})")
    if not capacity or np.isnan(capacity):
        raise NotFoundError("a station without a capacity cannot be given a crowding forecast")
    # A period's forecast is the mean reading, and the period holds period_minutes /
    # spacing of them: an hourly count at 15-minute slots gives each a quarter of it.
    spacing = read_recent_readings(lake, site_id, found[0], metrics=metrics).spacing
    readings = period_minutes / max(spacing or float(period_minutes), 1.0)
    return found[0], readings * DIRECTION_SHARE / capacity


# How far past the last reading a model's forecast is used: models are chosen and scored
# a day ahead (forecast.day_ahead); further out a model only carries its last values
# across the gap (a flat 0 % a week out was shown as real), so the usual day of the
# site's period profile answers instead.
MODEL_REACH = pd.Timedelta(days=2)


# Periods a day divides into, finest first: what a reading interval is rounded up to.
READING_PERIODS = (5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440)


@dataclass(frozen=True, slots=True)
class RecentReadings:
    """When a site last reported a metric, and the usual minutes between its readings
    over the two days before (gaps at night aside); None when it never reported it."""

    last: pd.Timestamp | None
    spacing: float | None

    def get_period(self, *, at_least: int) -> int:
        """The period the readings support: their spacing rounded up to a period that
        divides the day, and at least ``at_least`` (finer readings are averaged into
        the slots, which is what forecasts at ``at_least`` do)."""
        if self.spacing is None:
            return at_least
        fitting = next((p for p in READING_PERIODS if p >= self.spacing - 1e-9), 1440)
        return max(at_least, fitting)


def read_recent_readings(
    lake: Lake, site_id: str, metric: str, *, metrics: pd.DataFrame | None = None
) -> RecentReadings:
    """:class:`RecentReadings` of a site's metric (``metrics``: its
    ``get_site_metrics`` table indexed by metric, when the caller has it)."""
    metrics = (
        metrics if metrics is not None else get_site_metrics(lake, site_id).set_index("metric")
    )
    if metric not in metrics.index:
        return RecentReadings(None, None)
    last = pd.Timestamp(metrics.at[metric, "last_ts"])
    recent = read_observations(lake, metric, site_ids=[site_id], start=last - pd.Timedelta(days=2))
    steps = np.diff(pd.DatetimeIndex(recent["ts"]).as_unit("s").asi8) / 60
    return RecentReadings(last, float(np.median(steps)) if len(steps) else None)


def _get_forecast_site() -> Callable[..., pd.DataFrame] | None:
    try:  # the forecasting models may not be installed in this tree yet
        from urbanpulse.forecast import forecast_site  # type: ignore[attr-defined]
    except ImportError:
        return None
    return forecast_site  # type: ignore[no-any-return]


def _to_epoch(slots: pd.Series) -> np.ndarray:
    index = pd.DatetimeIndex(slots)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return np.asarray(index.as_unit("s").asi8, dtype=np.int64)
