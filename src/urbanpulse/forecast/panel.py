"""Panels: long observations resampled to a regular period, one column per site.

Every model works on a panel (rows are periods in UTC, columns are site ids) because
forecasting across sites, lags and neighbours is array work; the lake stays long.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from urbanpulse.errors import InvalidQueryError, NotFoundError
from urbanpulse.store import Engine, Lake

MIN_PERIOD, MAX_PERIOD = 1, 1440


def read_panel(
    lake: Lake,
    metric: str,
    *,
    site_ids: Sequence[str] | None = None,
    period_minutes: int = 15,
    start: datetime | None = None,
    end: datetime | None = None,
    tz: str,
    engine: Engine,
) -> pd.DataFrame:
    """One metric as a regular panel at ``period_minutes``, periods aligned in ``tz``.

    ``tz`` is the sites' local time zone (``settings.local_timezone``); see
    :func:`compute_panel`. The period means are computed inside ``engine``; only the
    panel's cells come back.

    Returns
    -------
    pandas.DataFrame
        Index ``ts`` (UTC, every period from the first to the last observation, gaps as
        NaN); one float column per site id (sorted); values are period means.
    """
    check_period(period_minutes)
    periods = engine.compute_periods(
        lake,
        metric,
        period_minutes=period_minutes,
        tz=tz,
        site_ids=site_ids,
        start=start,
        end=end,
    )
    if periods.num_rows == 0:
        raise NotFoundError(f"no {metric!r} observations for the requested sites and window")
    frame = periods.select(["site_id", "period_start", "mean"]).to_pandas()
    frame["period_start"] = frame["period_start"].astype("datetime64[ns, UTC]")
    wide = frame.pivot(index="period_start", columns="site_id", values="mean")
    full = pd.date_range(wide.index.min(), wide.index.max(), freq=f"{period_minutes}min", name="ts")
    wide = wide.reindex(full).sort_index(axis=1)
    wide.columns.name = None
    return wide.astype(float)


def compute_panel(observations: pd.DataFrame, *, period_minutes: int, tz: str) -> pd.DataFrame:
    """Resample long observations (site_id, ts, value) to a regular wide panel.

    Periods start on the local clock of ``tz`` (the settings' ``local_timezone``): in
    Kolkata (UTC+05:30) an hourly period runs 08:00-09:00
    local, not 08:30-09:30 as flooring in UTC would make it.

    Returns
    -------
    pandas.DataFrame
        Index ``ts`` (UTC, regular); one column per site id; period means, gaps as NaN.
    """
    check_period(period_minutes)
    freq = f"{period_minutes}min"
    ts = pd.DatetimeIndex(observations["ts"])
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    frame = pd.DataFrame(
        {
            "site_id": observations["site_id"].to_numpy(),
            "ts": floor_local(ts, period_minutes, tz=tz),
            "value": observations["value"].to_numpy(dtype=float),
        }
    )
    wide = frame.pivot_table(index="ts", columns="site_id", values="value", aggfunc="mean")
    full = pd.date_range(wide.index.min(), wide.index.max(), freq=freq, name="ts")
    wide = wide.reindex(full).sort_index(axis=1)
    wide.columns.name = None
    return wide.astype(float)


def floor_local(ts: pd.DatetimeIndex, period_minutes: int, *, tz: str) -> pd.DatetimeIndex:
    """UTC instants floored to the start of their period on the local clock of ``tz``."""
    ts = pd.DatetimeIndex(ts)
    # Each instant is floored by its own UTC offset, so DST changes need no special case.
    offset = ts.tz_convert(tz).tz_localize(None) - ts.tz_convert("UTC").tz_localize(None)
    wall = ts.tz_convert("UTC").tz_localize(None) + offset
    floored = wall.floor(f"{period_minutes}min") - offset
    return floored.tz_localize("UTC").rename(ts.name)


def check_period(period_minutes: int) -> None:
    """Raise unless the period divides a day evenly (5, 10, 15, 30, 60 ... minutes)."""
    if not MIN_PERIOD <= period_minutes <= MAX_PERIOD or 1440 % period_minutes:
        raise InvalidQueryError(
            f"period_minutes must divide a day evenly (5, 15, 30, 60 ...), got {period_minutes}"
        )


def get_period_minutes(index: pd.DatetimeIndex) -> int:
    """The panel's period in minutes, read from its first two rows."""
    if len(index) < 2:
        raise InvalidQueryError("a panel needs at least two rows to have a period")
    return int((index[1] - index[0]) / pd.Timedelta(minutes=1))


def get_future_index(index: pd.DatetimeIndex, extra: int) -> pd.DatetimeIndex:
    """The panel's index extended by ``extra`` periods, for forecasts past its end."""
    freq = pd.Timedelta(minutes=get_period_minutes(index))
    return pd.date_range(index[0], periods=len(index) + extra, freq=freq, name="ts")


def build_windows(values: np.ndarray, origins: np.ndarray, steps: int) -> np.ndarray:
    """Values at origins + 0 .. steps-1 (NaN past the end): shape (origins, steps, sites).

    An origin is the row of the first forecast step; the last observed row is origin - 1.
    """
    rows = np.asarray(origins)[:, None] + np.arange(steps)[None, :]
    padded = np.vstack([values, np.full((steps, values.shape[1]), np.nan)])
    return padded[np.clip(rows, 0, len(padded) - 1)]


def compute_last_values(values: np.ndarray) -> np.ndarray:
    """Each row's value carried forward over gaps (the latest known value per site)."""
    return pd.DataFrame(values).ffill().to_numpy()
