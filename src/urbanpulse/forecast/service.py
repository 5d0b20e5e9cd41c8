"""One call for the API and the commuter advice: a site's forecast with its p10/p90 band."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from urbanpulse.errors import InvalidQueryError, NotFoundError
from urbanpulse.forecast.intervals import Conformal
from urbanpulse.forecast.models import build_model
from urbanpulse.forecast.panel import check_period, compute_panel, floor_local
from urbanpulse.forecast.protocol import CalendarSpec
from urbanpulse.store import Lake, read_observations

FORECAST_COLUMNS = ["ts", "yhat", "p10", "p90", "model"]
GLOBAL_MODELS = ("auto", "global_boost")


def forecast_site(
    lake: Lake,
    site_id: str,
    metric: str,
    *,
    start: datetime | None = None,
    horizon: int | timedelta = timedelta(hours=3),
    period_minutes: int = 15,
    model: str = "auto_simple",
    history_days: int = 28,
    calendar: CalendarSpec,
) -> pd.DataFrame:
    """Forecast one site's metric from ``start`` for ``horizon`` (steps or a duration).

    The model learns from the ``history_days`` before ``start`` (default: right after
    the last observation). ``calendar`` is the sites' time zone and holiday country;
    periods start on its local clock. ``auto_simple`` chooses among persistence, rolling mean and
    the seasonal profile on held-out days and is cheap per request; ``auto`` and
    ``global_boost`` also learn from the metric's other sites and take seconds.

    Returns
    -------
    pandas.DataFrame
        Columns: ts (UTC, start of each period), yhat, p10, p90 (the 80 % band from
        held-out residuals), model (the model that produced the row: ``auto`` may
        use different models at different steps).
    """
    check_period(period_minutes)
    period = pd.Timedelta(minutes=period_minutes)
    steps = _get_steps(horizon, period)
    end = pd.Timestamp(start) if start is not None else _get_latest(lake, site_id, metric) + period
    # The panel is indexed in UTC with periods on the local clock; start lines up with it.
    end = end.tz_localize("UTC") if end.tzinfo is None else end.tz_convert("UTC")
    end = floor_local(pd.DatetimeIndex([end]), period_minutes, tz=calendar.tz)[0]
    begin = end - pd.Timedelta(days=history_days)
    sites = None if model in GLOBAL_MODELS else [site_id]
    observations = read_observations(lake, metric, site_ids=sites, start=begin, end=end)
    if observations.empty or site_id not in set(observations["site_id"]):
        raise NotFoundError(f"no {metric!r} observations for site {site_id!r} before {end}")
    panel = compute_panel(observations, period_minutes=period_minutes, tz=calendar.tz)
    panel = panel.reindex(pd.date_range(panel.index[0], end - period, freq=period, name="ts"))
    fitted = _fit(panel, model, steps, calendar)
    forecast, low, high = fitted.predict_interval(panel, np.array([len(panel)]), horizon=steps)
    column = list(panel.columns).index(site_id)
    used = (
        fitted.get_step_models([site_id], horizon=steps)[:, 0]
        if hasattr(fitted, "get_step_models")
        else model
    )
    return pd.DataFrame(
        {
            "ts": pd.date_range(end, periods=steps, freq=period),
            "yhat": forecast[0, :, column],
            "p10": low[0, :, column],
            "p90": high[0, :, column],
            "model": used,
        }
    )[FORECAST_COLUMNS]


def _fit(panel: pd.DataFrame, name: str, steps: int, calendar: CalendarSpec):  # type: ignore[no-untyped-def]
    input_steps = min(12, max(1, len(panel) // 10))
    if len(panel) < 4 * input_steps + steps:
        raise InvalidQueryError(
            f"{len(panel)} periods of history are too few to forecast {steps} steps"
        )
    model = build_model(name, calendar=calendar, input_steps=input_steps)
    if not hasattr(model, "predict_interval"):
        model = Conformal(model, input_steps=input_steps)
    return model.fit(panel, horizon=steps)


def _get_steps(horizon: int | timedelta, period: pd.Timedelta) -> int:
    steps = horizon if isinstance(horizon, int) else math.ceil(pd.Timedelta(horizon) / period)
    if steps < 1:
        raise InvalidQueryError(f"horizon must be at least one period, got {horizon}")
    return int(steps)


def _get_latest(lake: Lake, site_id: str, metric: str) -> pd.Timestamp:
    observations = read_observations(lake, metric, site_ids=[site_id])
    if observations.empty:
        raise NotFoundError(f"no {metric!r} observations for site {site_id!r}")
    return pd.Timestamp(observations["ts"].max())
