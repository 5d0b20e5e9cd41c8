"""Period profiles: what a site's metric usually looks like at each time of day.

For a site and metric, values are grouped by day type (weekday, weekend, holiday) and
period of the local day (5, 15 or 60 minutes ...), giving mean, median and 90th
percentile. They are the operator's "normal day" and the seasonal-profile forecast.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from urbanpulse.catalog.calendar import DAY_TYPES, get_day_types
from urbanpulse.errors import InvalidQueryError, NotFoundError
from urbanpulse.store import Engine, Lake, compute_profiles

PROFILE_COLUMNS = ["day_type", "period_start", "period_label", "mean", "p50", "p90", "n"]


def compute_profile(
    lake: Lake,
    site_id: str,
    metric: str,
    *,
    period_minutes: int = 15,
    start: datetime | None = None,
    end: datetime | None = None,
    tz: str,
    country: str,
    engine: Engine,
) -> pd.DataFrame:
    """Profile of one site's metric by day type and period of the local day.

    ``tz`` and ``country`` are the settings' ``local_timezone`` and
    ``holiday_country``; the grouping runs inside ``engine``, not over raw rows here.

    Returns
    -------
    pandas.DataFrame
        Columns: day_type, period_start (minutes after local midnight), period_label
        ('HH:MM'), mean, p50, p90, n (observations in the cell); sorted by day type
        (weekday, weekend, holiday) and period.
    """
    _check_period(period_minutes)
    table = compute_profiles(
        lake,
        metric,
        period_minutes=period_minutes,
        tz=tz,
        country=country,
        site_ids=[site_id],
        start=start,
        end=end,
        engine=engine,
    ).to_pandas()
    if table.empty:
        raise NotFoundError(f"no {metric!r} observations for site {site_id!r}")
    table["period_start"] = table["period_start"].astype("int64")
    table["period_label"] = table["period_start"].map(lambda m: f"{m // 60:02d}:{m % 60:02d}")
    return table[PROFILE_COLUMNS]


def compute_profile_table(
    ts: pd.Series,
    values: pd.Series,
    *,
    period_minutes: int = 15,
    tz: str,
    country: str,
) -> pd.DataFrame:
    """Profile of any (timestamp, value) series; see :func:`compute_profile` for columns."""
    _check_period(period_minutes)
    frame = pd.DataFrame({"ts": pd.DatetimeIndex(ts), "value": np.asarray(values, dtype=float)})
    frame = frame.dropna(subset=["value"])
    local = frame["ts"].dt.tz_convert(tz)
    frame["day_type"] = get_day_types(frame["ts"], tz=tz, country=country)
    minutes = local.dt.hour * 60 + local.dt.minute
    frame["period_start"] = (minutes // period_minutes) * period_minutes
    grouped = frame.groupby(["day_type", "period_start"])["value"]
    table = grouped.agg(
        mean="mean",
        p50="median",
        p90=lambda v: float(np.quantile(v, 0.9)),
        n="size",
    ).reset_index()
    table["period_label"] = table["period_start"].map(lambda m: f"{m // 60:02d}:{m % 60:02d}")
    order = {name: i for i, name in enumerate(DAY_TYPES)}
    table = table.sort_values(
        ["day_type", "period_start"], key=lambda c: c.map(order) if c.name == "day_type" else c
    )
    return table[PROFILE_COLUMNS].reset_index(drop=True)


def _check_period(period_minutes: int) -> None:
    if period_minutes <= 0 or 1440 % period_minutes:
        raise InvalidQueryError(
            f"period_minutes must divide a day evenly (5, 15, 30, 60 ...), got {period_minutes}"
        )
