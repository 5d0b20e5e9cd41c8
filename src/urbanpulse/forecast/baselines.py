"""Reference models: persistence, rolling mean, weekly naive, the seasonal profile and
the mean of the latest days of the same day type.

They are the yardsticks every learned model is measured against in the same run, and
also candidates for model selection: on a flat, quiet site persistence is hard to beat,
and a day ahead on a metro "same slot one week earlier" is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from urbanpulse.forecast.panel import build_windows, compute_last_values, get_future_index
from urbanpulse.forecast.protocol import CalendarSpec, compute_slots, get_slots_per_day
from urbanpulse.forecast.seasonal import (
    SeasonalTable,
    build_seasonal_table,
    compute_same_type_mean,
    predict_from_earlier_days,
)


class Persistence:
    """Tomorrow looks like now: the latest known value, repeated over the horizon."""

    name = "persistence"

    def fit(self, panel: pd.DataFrame, *, horizon: int) -> Persistence:
        """Nothing to learn."""
        return self

    def predict(self, panel: pd.DataFrame, origins: np.ndarray, *, horizon: int) -> np.ndarray:
        """The value at origin - 1 (carried over gaps) for every step."""
        last = compute_last_values(panel.to_numpy(dtype=float))
        latest = last[np.asarray(origins) - 1]
        return np.repeat(latest[:, None, :], horizon, axis=1)


class RollingMean:
    """Mean of the last ``window`` values, rolled forward over its own forecasts.

    Each step's forecast joins the window for the next step, as in the T-GCN paper's
    baseline, so a 12-step window slowly forgets the observed values.
    """

    def __init__(self, *, window: int = 12) -> None:
        self.window = window
        self.name = f"rolling_mean_{window}"

    def fit(self, panel: pd.DataFrame, *, horizon: int) -> RollingMean:
        """Nothing to learn."""
        return self

    def predict(self, panel: pd.DataFrame, origins: np.ndarray, *, horizon: int) -> np.ndarray:
        """Recursive window means, shape (origins, horizon, sites)."""
        values = compute_last_values(panel.to_numpy(dtype=float))
        buffer = build_windows(values, np.asarray(origins) - self.window, self.window)
        forecasts = np.empty((len(buffer), horizon, values.shape[1]))
        for step in range(horizon):
            forecasts[:, step] = buffer.mean(axis=1)
            buffer = np.concatenate([buffer[:, 1:], forecasts[:, step : step + 1]], axis=1)
        return forecasts


class WeeklyNaive:
    """Same slot one week earlier: the weekly seasonal naive.

    Steps more than a week ahead reach back whole weeks until the row is known before
    the origin. A week-ago row that is missing (a gap, or less than a week of history)
    falls back to two and three weeks ago, then to the latest known value, so a
    forecast is never empty where persistence would have an answer.
    """

    name = "weekly_naive"
    weeks_back = 3

    def fit(self, panel: pd.DataFrame, *, horizon: int) -> WeeklyNaive:
        """Nothing to learn."""
        return self

    def predict(self, panel: pd.DataFrame, origins: np.ndarray, *, horizon: int) -> np.ndarray:
        """Values one (or more) weeks before each target row, shape (origins, horizon, sites)."""
        values = panel.to_numpy(dtype=float)
        week = 7 * get_slots_per_day(pd.DatetimeIndex(panel.index))
        origins = np.asarray(origins)
        steps = np.arange(1, horizon + 1)
        targets = origins[:, None] + steps[None, :] - 1
        first = targets - week * np.ceil(steps / week).astype(int)[None, :]
        forecasts = np.full((len(origins), horizon, values.shape[1]), np.nan)
        for k in range(self.weeks_back):
            rows = first - k * week
            known = values[np.clip(rows, 0, None)]
            known[rows < 0] = np.nan
            forecasts = np.where(np.isnan(forecasts), known, forecasts)
        latest = compute_last_values(values)[origins - 1][:, None, :]
        return np.where(np.isnan(forecasts), latest, forecasts)


class SeasonalProfile:
    """The site's usual value for the target's day of week (or day type) and period.

    See :mod:`urbanpulse.forecast.seasonal` for how weekdays and day types combine.
    """

    name = "seasonal_profile"

    def __init__(self, *, calendar: CalendarSpec) -> None:
        self.calendar = calendar
        self.table: SeasonalTable | None = None

    def fit(self, panel: pd.DataFrame, *, horizon: int) -> SeasonalProfile:
        """Average every site by day type and slot over the fitted rows."""
        self.table = build_seasonal_table(panel, self.calendar)
        return self

    def predict(self, panel: pd.DataFrame, origins: np.ndarray, *, horizon: int) -> np.ndarray:
        """Profile values at the target rows, shape (origins, horizon, sites)."""
        if self.table is None:
            raise RuntimeError("fit the seasonal profile before predicting")
        origins = np.asarray(origins)
        extra = max(0, int(origins.max()) + horizon - len(panel)) if len(origins) else 0
        profile = self.table.get_values(get_future_index(pd.DatetimeIndex(panel.index), extra))
        return build_windows(profile, origins, horizon)


class RecentDays:
    """The mean of the target's slot over the latest days of its day type.

    Tonight for tomorrow, a weekday looks most like the last few weekdays: they carry
    this month's level (a season, works near a station, the weeks before a festival)
    that a profile over all history dilutes, and averaging several days halves the
    noise of "same slot one week earlier". Only days wholly before the origin count.
    A target with no such day within three weeks takes the seasonal profile.

    Parameters
    ----------
    days
        How many of the latest same-type days are averaged.
    """

    name = "recent_days"

    def __init__(self, *, calendar: CalendarSpec, days: int = 5) -> None:
        self.calendar = calendar
        self.days = days
        self.table: SeasonalTable | None = None

    def fit(self, panel: pd.DataFrame, *, horizon: int) -> RecentDays:
        """Keep the profile for targets without a recent day of their type."""
        self.table = build_seasonal_table(panel, self.calendar)
        return self

    def predict(self, panel: pd.DataFrame, origins: np.ndarray, *, horizon: int) -> np.ndarray:
        """Same-type means at the target rows, shape (origins, horizon, sites)."""
        table = self.table
        if table is None:
            raise RuntimeError("fit the recent-days model before predicting")

        known: dict[str, np.ndarray] = {}  # one index for every days-back group

        def answer(
            values: np.ndarray, index: pd.DatetimeIndex, rows: np.ndarray, days_back: int
        ) -> np.ndarray:
            if not known:
                known["day_type"] = compute_slots(index, self.calendar)[1]
                known["profile"] = table.get_values(index)
            means = compute_same_type_mean(
                values, known["day_type"], rows, days_back, get_slots_per_day(index),
                count=self.days,
            )  # fmt: skip
            return np.where(np.isnan(means), known["profile"][rows], means)

        return predict_from_earlier_days(panel, origins, horizon, answer)
