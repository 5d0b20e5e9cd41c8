"""A learned day-ahead model: gradient-boosted trees over whole days of history.

Issued tonight for tomorrow, a forecast cannot lean on the latest value: what it knows
is the same slot yesterday, a week ago, the last few days of the same day type, and
the profile. ``SeasonalBoost`` learns one model over every site from those features
only, with the target's period of day, day of the week and day type, and predicts the
level itself. Its features read whole days before the target's day (at least one, more
when the target is further ahead), so a forecast for a given row is the same from any
origin that day and is computed once per target row.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from urbanpulse.errors import InvalidQueryError
from urbanpulse.forecast.protocol import (
    CalendarSpec,
    compute_slots,
    compute_weekdays,
    get_slots_per_day,
)
from urbanpulse.forecast.seasonal import (
    SeasonalTable,
    build_seasonal_table,
    compute_same_type_mean,
    predict_from_earlier_days,
    take_rows,
)

SEASONAL_PARAMS: dict[str, object] = {
    # l1: counts of riders have heavy-tailed surprises (events, weather) that l2 chases
    "objective": "l1",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.8,
    "verbose": -1,
    "seed": 7,
    "num_threads": 1,  # see learned.DEFAULT_PARAMS
}
FEATURES = (
    "day_lag",
    "week_lag",
    "two_weeks_lag",
    "same_type_2",
    "same_type_5",
    "profile",
    "slot",
    "weekday",
    "day_type",
    "site_mean",
)


class SeasonalBoost:
    """Day-ahead trees over same-slot values of earlier days (see the module docstring).

    Parameters
    ----------
    calendar
        Time zone and holiday country of the sites (default: the settings').
    max_rows
        Training (row, site) cells; sampled down to this.
    rounds, params
        Boosting rounds and LightGBM parameters (merged over ``SEASONAL_PARAMS``).
    """

    name = "seasonal_boost"

    def __init__(
        self,
        *,
        calendar: CalendarSpec,
        max_rows: int = 200_000,
        rounds: int = 400,
        params: dict[str, object] | None = None,
    ) -> None:
        self.calendar = calendar
        self.max_rows = max_rows
        self.rounds = rounds
        self.params = SEASONAL_PARAMS | (params or {})
        self.booster: lgb.Booster | None = None
        self.table: SeasonalTable | None = None
        self.site_mean = np.zeros(0)

    def fit(self, panel: pd.DataFrame, *, horizon: int) -> SeasonalBoost:
        """Learn each cell's value from the days before it, over all sites at once."""
        values = panel.to_numpy(dtype=float)
        index = pd.DatetimeIndex(panel.index)
        day = get_slots_per_day(index)
        if len(values) <= 2 * day:
            raise InvalidQueryError("the day-ahead model needs more than two days of history")
        self.table = build_seasonal_table(panel, self.calendar)
        self.site_mean = np.nan_to_num(np.nanmean(values, axis=0))
        rows = np.arange(day, len(values))
        frame = self._build_frame(values, index, rows, 1, self.table.get_loo_values(index, values))
        target = values[rows].ravel()
        keep = np.flatnonzero(~np.isnan(target))
        if len(keep) > self.max_rows:
            keep = np.sort(np.random.default_rng(7).choice(keep, self.max_rows, replace=False))
        data = lgb.Dataset(
            frame.iloc[keep], target[keep], categorical_feature=["weekday", "day_type"]
        )
        self.booster = lgb.train(self.params, data, num_boost_round=self.rounds)
        return self

    def predict(self, panel: pd.DataFrame, origins: np.ndarray, *, horizon: int) -> np.ndarray:
        """Forecasts of shape (origins, horizon, sites)."""
        booster, table = self.booster, self.table
        if booster is None or table is None:
            raise RuntimeError("fit the day-ahead model before predicting")

        profiles: list[np.ndarray] = []  # one index for every days-back group

        def answer(
            values: np.ndarray, index: pd.DatetimeIndex, rows: np.ndarray, days_back: int
        ) -> np.ndarray:
            if not profiles:
                profiles.append(table.get_values(index))
            frame = self._build_frame(values, index, rows, days_back, profiles[0])
            return np.asarray(booster.predict(frame)).reshape(len(rows), -1)

        return predict_from_earlier_days(panel, origins, horizon, answer)

    def _build_frame(
        self,
        values: np.ndarray,
        index: pd.DatetimeIndex,
        rows: np.ndarray,
        days_back: int,
        profile: np.ndarray,
    ) -> pd.DataFrame:
        """Feature rows for target ``rows`` (row-major, then site), reading rows at least
        ``days_back`` whole days earlier."""
        day = get_slots_per_day(index)
        slot, day_type = compute_slots(index, self.calendar)
        weekday = compute_weekdays(index, self.calendar)
        weeks_back = -(-days_back // 7)
        columns = {
            "day_lag": take_rows(values, rows - days_back * day),
            "week_lag": take_rows(values, rows - weeks_back * 7 * day),
            "two_weeks_lag": take_rows(values, rows - (weeks_back + 1) * 7 * day),
            "same_type_2": compute_same_type_mean(values, day_type, rows, days_back, day, count=2),
            "same_type_5": compute_same_type_mean(values, day_type, rows, days_back, day, count=5),
            "profile": profile[rows],
        }
        sites = values.shape[1]
        frame = pd.DataFrame({name: array.ravel() for name, array in columns.items()})
        frame["slot"] = np.repeat(slot[rows], sites)
        frame["weekday"] = np.repeat(weekday[rows], sites)
        frame["day_type"] = np.repeat(day_type[rows], sites)
        frame["site_mean"] = np.tile(self.site_mean, len(rows))
        return frame[list(FEATURES)]
