"""The learned global model: one LightGBM model per anchor step, shared by all sites.

One model across sites learns from every sensor's history at once (a site with a week
of data still benefits from the others). It predicts the change from the latest value;
steps between anchor steps follow the seasonal profile, with the deviation from it
interpolated, which keeps a 24-hour horizon at a dozen models instead of hundreds.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from urbanpulse.errors import InvalidQueryError
from urbanpulse.forecast.features import (
    FeatureInputs,
    build_features,
    compute_neighbours,
    compute_recent_same_type,
)
from urbanpulse.forecast.panel import compute_last_values, get_future_index
from urbanpulse.forecast.protocol import (
    CalendarSpec,
    compute_slots,
    compute_weekdays,
    get_slots_per_day,
)
from urbanpulse.forecast.seasonal import SeasonalTable, build_seasonal_table

DEFAULT_PARAMS: dict[str, object] = {
    "objective": "l2",
    "learning_rate": 0.15,
    "num_leaves": 31,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.7,
    "bagging_freq": 1,
    "max_bin": 63,
    "verbose": -1,
    "seed": 7,
    # One thread: on a shared machine OpenMP threads spin-wait for each other and two
    # threads ran three times slower than one in our measurements.
    "num_threads": 1,
}


def get_anchor_steps(horizon: int) -> list[int]:
    """Steps that get their own model: every step up to 6, then about every third more."""
    steps = set(range(1, min(horizon, 6) + 1)) | {horizon}
    step = 6.0
    while step < horizon:
        step *= 1.33
        steps.add(min(horizon, round(step)))
    return sorted(steps)


class GlobalBoost:
    """Gradient-boosted trees over lags, neighbours, calendar and profile deviation.

    Parameters
    ----------
    calendar
        Time zone and holiday country of the sites.
    input_steps
        How many past rows a forecast may read (12 in the Los-loop protocol).
    neighbours
        How many neighbouring sites feed each site's features.
    adjacency
        Optional site-by-site link weights (e.g. a road graph); else lead-lag correlation.
    max_rows
        Training rows per anchor model; origins are sampled down to this.
    rounds, params
        Boosting rounds and LightGBM parameters (merged over ``DEFAULT_PARAMS``).
    """

    name = "global_boost"

    def __init__(
        self,
        *,
        calendar: CalendarSpec,
        input_steps: int = 12,
        neighbours: int = 3,
        adjacency: pd.DataFrame | None = None,
        max_rows: int = 60_000,
        rounds: int = 100,
        params: dict[str, object] | None = None,
    ) -> None:
        self.calendar = calendar
        self.input_steps = max(input_steps, 4)
        self.neighbours = neighbours
        self.adjacency = adjacency
        self.max_rows = max_rows
        self.rounds = rounds
        self.params = DEFAULT_PARAMS | (params or {})
        self.boosters: dict[int, lgb.Booster] = {}
        self.seasonal_base: dict[int, bool] = {}
        self.table: SeasonalTable | None = None
        self.neighbour_columns = np.zeros((0, 0), dtype=int)
        self.site_mean = np.zeros(0)

    def fit(self, panel: pd.DataFrame, *, horizon: int) -> GlobalBoost:
        """Train one booster per anchor step on sampled (origin, site) rows of ``panel``."""
        values = panel.to_numpy(dtype=float)
        if len(values) < self.input_steps + horizon + 1:
            raise InvalidQueryError(f"{len(values)} rows are too few to learn {horizon} steps")
        self.table = build_seasonal_table(panel, self.calendar)
        self.site_mean = np.nan_to_num(np.nanmean(values, axis=0))
        self.neighbour_columns = compute_neighbours(
            values, k=self.neighbours, site_ids=list(panel.columns), adjacency=self.adjacency
        )
        index = pd.DatetimeIndex(panel.index)
        inputs = self._build_inputs(values, index, self.table.get_loo_values(index, values))
        rng = np.random.default_rng(7)
        self.boosters, self.seasonal_base = {}, {}
        for step in get_anchor_steps(horizon):
            origins = np.arange(self.input_steps, len(values) - step + 1)
            keep = max(1, self.max_rows // values.shape[1])
            if len(origins) > keep:
                origins = np.sort(rng.choice(origins, keep, replace=False))
            self.boosters[step], self.seasonal_base[step] = self._fit_step(
                inputs, values, origins, step
            )
        return self

    def predict(self, panel: pd.DataFrame, origins: np.ndarray, *, horizon: int) -> np.ndarray:
        """Forecasts of shape (origins, horizon, sites), anchors interpolated between."""
        if self.table is None:
            raise RuntimeError("fit the model before predicting")
        origins = np.asarray(origins)
        if origins.min() < self.input_steps:
            raise InvalidQueryError(f"origins need {self.input_steps} rows of history before them")
        values = panel.to_numpy(dtype=float)
        index = get_future_index(pd.DatetimeIndex(panel.index), horizon)
        padded = np.vstack([values, np.full((horizon, values.shape[1]), np.nan)])
        inputs = self._build_inputs(padded, index, self.table.get_values(index))
        last = inputs.last[origins - 1]
        anchors = [s for s in sorted(self.boosters) if s <= horizon] or [min(self.boosters)]
        corrections = {}
        for step in anchors:
            frame = build_features(inputs, origins, step)
            corrections[step] = np.asarray(self.boosters[step].predict(frame)).reshape(last.shape)
        # Every step gets its own base (a seasonal base keeps a peak's shape between
        # anchors); only the boosters' corrections, smooth in the step, are interpolated.
        bases = np.stack(
            [self._get_base(inputs, origins, step, anchors) for step in range(1, horizon + 1)],
            axis=1,
        )
        return last[:, None, :] + bases + _interpolate(corrections, horizon)

    def _get_base(
        self, inputs: FeatureInputs, origins: np.ndarray, step: int, anchors: list[int]
    ) -> np.ndarray:
        """The base change at ``step``, of the kind its nearest anchor learned on."""
        nearest = min(anchors, key=lambda a: (abs(a - step), a))
        if not self.seasonal_base[nearest]:
            return np.zeros((len(origins), inputs.last.shape[1]))
        return compute_seasonal_change(inputs, origins, step)

    def _build_inputs(
        self, values: np.ndarray, index: pd.DatetimeIndex, profile: np.ndarray
    ) -> FeatureInputs:
        slot, day_type = compute_slots(index, self.calendar)
        return FeatureInputs(
            last=compute_last_values(values),
            profile=profile,
            slot=slot,
            day_type=day_type,
            weekday=compute_weekdays(index, self.calendar),
            day_rows=get_slots_per_day(index),
            neighbours=self.neighbour_columns,
            site_mean=self.site_mean,
            input_steps=self.input_steps,
        )

    def _fit_step(
        self, inputs: FeatureInputs, values: np.ndarray, origins: np.ndarray, step: int
    ) -> tuple[lgb.Booster, bool]:
        """A booster for one anchor step, and whether it corrects the seasonal base."""
        frame = build_features(inputs, origins, step)
        target = (values[origins - 1 + step] - inputs.last[origins - 1]).ravel()
        keep = ~np.isnan(target)
        seasonal = compute_seasonal_change(inputs, origins, step).ravel()
        # Trees fit an identity poorly (63 bins), so they learn a correction to the
        # better of two plain forecasts on these rows: the latest value (near steps)
        # or the recent same-day-type value at the target's slot (a day ahead).
        use_seasonal = bool(np.mean((target - seasonal)[keep] ** 2) < np.mean(target[keep] ** 2))
        base = seasonal if use_seasonal else np.zeros_like(seasonal)
        data = lgb.Dataset(
            frame[keep],
            (target - base)[keep],
            categorical_feature=["day_type", "weekday"],
            free_raw_data=True,
        )
        return lgb.train(self.params, data, num_boost_round=self.rounds), use_seasonal


def compute_seasonal_change(inputs: FeatureInputs, origins: np.ndarray, step: int) -> np.ndarray:
    """Recent same-day-type value at the target's slot (else the profile), as a change
    from the latest value: shape (origins, sites)."""
    last = inputs.last[origins - 1]
    recent = compute_recent_same_type(inputs, origins, step)
    profile = inputs.profile[origins - 1 + step]
    return np.where(np.isnan(recent), profile, recent) - last


def _interpolate(changes: dict[int, np.ndarray], horizon: int) -> np.ndarray:
    """Stack per-anchor arrays for steps 1..horizon, linear between anchor steps."""
    anchors = sorted(changes)
    stacked = np.stack([changes[s] for s in anchors], axis=1)
    if anchors == list(range(1, horizon + 1)):
        return stacked
    out = np.empty((stacked.shape[0], horizon, stacked.shape[2]))
    for step in range(1, horizon + 1):
        right = int(np.searchsorted(anchors, step))
        if right < len(anchors) and anchors[right] == step:
            out[:, step - 1] = stacked[:, right]
        elif right == 0 or right == len(anchors):
            out[:, step - 1] = stacked[:, min(right, len(anchors) - 1)]
        else:
            lo, hi = anchors[right - 1], anchors[right]
            weight = (step - lo) / (hi - lo)
            out[:, step - 1] = (1 - weight) * stacked[:, right - 1] + weight * stacked[:, right]
    return out
