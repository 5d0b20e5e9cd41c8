"""Seasonal profiles as arrays: each site's usual value by day and period of day.

``profiles.compute_profile`` answers one site's profile for people; forecasting needs
the same figures for every site at once, and for training rows a leave-one-out version
(a row's own value must not be inside the profile a learned model sees beside it, or
the model learns to trust the profile far more than it deserves on new days).

A day's profile is its day of the week where the history allows: Friday evenings and
Monday mornings differ from midweek. With two or three weeks of history a weekday's
own mean rests on two or three days and is noisier than the day type's (weekday,
weekend, holiday), so the weekday's mean is shrunk toward its day type's by
``n / (n + PRIOR_DAYS)``, n being the days seen. On Hangzhou's metro, fitted on its
first 11 days and scored on the next 7 (all training days), the day type alone scored
WAPE 12.9 %, the weekday alone 13.5 %, shrunk with a prior of 2 days 12.5 %.
Holidays and worked weekend days keep their day type's profile.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from urbanpulse.catalog.calendar import DAY_TYPES
from urbanpulse.forecast.panel import get_future_index
from urbanpulse.forecast.protocol import (
    CalendarSpec,
    compute_slots,
    compute_weekdays,
    get_slots_per_day,
)

WEEKDAY, WEEKEND, HOLIDAY = range(len(DAY_TYPES))
PRIOR_DAYS = 2.0


@dataclass(slots=True)
class SeasonalTable:
    """Sums and counts per (day type, slot, site) and per (day of week, slot, site).

    ``means`` are the filled day-type means; the day-of-week cells are blended in at
    read time (see the module docstring).
    """

    sums: np.ndarray
    counts: np.ndarray
    means: np.ndarray
    dow_sums: np.ndarray
    dow_counts: np.ndarray
    spec: CalendarSpec

    def get_values(self, index: pd.DatetimeIndex) -> np.ndarray:
        """Profile value at each row of ``index`` for every site: shape (rows, sites)."""
        slot, day_type, dow = _get_keys(index, self.spec)
        return _blend(
            self.means[day_type, slot], self.dow_sums[dow, slot], self.dow_counts[dow, slot]
        )

    def get_loo_values(self, index: pd.DatetimeIndex, values: np.ndarray) -> np.ndarray:
        """Like :meth:`get_values` for the fitted rows, each row's own value left out."""
        slot, day_type, dow = _get_keys(index, self.spec)
        seen = ~np.isnan(values)
        own = np.where(seen, values, 0.0)
        sums, counts = self.sums[day_type, slot] - own, self.counts[day_type, slot] - seen
        with np.errstate(invalid="ignore", divide="ignore"):
            loo = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        loo = np.where(np.isnan(loo), self.means[day_type, slot], loo)
        regular = (dow < 7)[:, None]  # a row counted in its weekday's cell leaves it too
        dow_sums = self.dow_sums[dow, slot] - np.where(regular, own, 0.0)
        dow_counts = self.dow_counts[dow, slot] - np.where(regular, seen, 0)
        return _blend(loo, dow_sums, dow_counts)


def build_seasonal_table(panel: pd.DataFrame, spec: CalendarSpec) -> SeasonalTable:
    """Profile arrays of every site of ``panel``.

    Day-type cells never observed borrow, in order: the weekend cell (for holidays),
    the mean of the site's other day types at that slot, the site's overall mean.
    """
    values = panel.to_numpy(dtype=float)
    index = pd.DatetimeIndex(panel.index)
    slot, day_type, dow = _get_keys(index, spec)
    slots = get_slots_per_day(index)
    seen = ~np.isnan(values)
    own = np.where(seen, values, 0.0)
    sums = np.zeros((len(DAY_TYPES), slots, values.shape[1]))
    counts = np.zeros_like(sums)
    np.add.at(sums, (day_type, slot), own)
    np.add.at(counts, (day_type, slot), seen.astype(float))
    # row 7 collects holidays and worked weekend days, which have no weekday cell
    dow_sums = np.zeros((8, slots, values.shape[1]))
    dow_counts = np.zeros_like(dow_sums)
    np.add.at(dow_sums, (dow, slot), own)
    np.add.at(dow_counts, (dow, slot), seen.astype(float))
    dow_sums[7], dow_counts[7] = 0.0, 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return SeasonalTable(sums, counts, _fill_means(means, values), dow_sums, dow_counts, spec)


def _get_keys(
    index: pd.DatetimeIndex, spec: CalendarSpec
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slot, day-type code and weekday cell per row (7: no weekday cell, see above)."""
    slot, day_type = compute_slots(index, spec)
    dow = compute_weekdays(index, spec)
    regular = ((day_type == WEEKDAY) & (dow < 5)) | ((day_type == WEEKEND) & (dow >= 5))
    return slot, day_type, np.where(regular, dow, 7)


def _blend(type_means: np.ndarray, dow_sums: np.ndarray, dow_counts: np.ndarray) -> np.ndarray:
    """Weekday means shrunk toward the day type's by n / (n + PRIOR_DAYS)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        dow_means = np.where(dow_counts > 0, dow_sums / np.maximum(dow_counts, 1), 0.0)
    weight = dow_counts / (dow_counts + PRIOR_DAYS)
    return weight * dow_means + (1 - weight) * type_means


def _fill_means(means: np.ndarray, values: np.ndarray) -> np.ndarray:
    means = means.copy()
    means[HOLIDAY] = np.where(np.isnan(means[HOLIDAY]), means[WEEKEND], means[HOLIDAY])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices are expected here
        across = np.nanmean(means, axis=0)
        overall = np.nanmean(values, axis=0)
    across = np.where(np.isnan(across), overall[None, :], across)
    return np.where(np.isnan(means), across[None, :, :], means)


def take_rows(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """values[rows], NaN where a row falls before the panel's start."""
    taken = values[np.maximum(rows, 0)]
    taken[rows < 0] = np.nan
    return taken


def compute_same_type_mean(
    values: np.ndarray,
    day_type: np.ndarray,
    rows: np.ndarray,
    days_back: int,
    day: int,
    *,
    count: int,
    reach: int = 21,
) -> np.ndarray:
    """Mean of the target's slot over the latest ``count`` earlier days of its day type."""
    total = np.zeros((len(rows), values.shape[1]))
    found = np.zeros((len(rows), values.shape[1]))
    for back in range(days_back, days_back + reach):
        earlier = rows - back * day
        same = (earlier >= 0) & (day_type[np.maximum(earlier, 0)] == day_type[rows])
        taken = take_rows(values, earlier)
        use = same[:, None] & ~np.isnan(taken) & (found < count)
        total += np.where(use, taken, 0.0)
        found += use
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(found > 0, total / np.maximum(found, 1), np.nan)


def predict_from_earlier_days(
    panel: pd.DataFrame,
    origins: np.ndarray,
    horizon: int,
    answer: Callable[[np.ndarray, pd.DatetimeIndex, np.ndarray, int], np.ndarray],
) -> np.ndarray:
    """Forecasts (origins, horizon, sites) by a model that reads whole earlier days.

    A target row ``s`` steps after its origin may read rows ``ceil((s + 1) / day)``
    whole days back or more (so nothing at or after the origin); a target's answer
    is then the same from every origin that day, so each distinct (row, days back) is
    computed once: ``answer(values, index, rows, days_back)`` gives (len(rows), sites)
    from ``values`` (the panel with NaN rows after its end) over the extended ``index``.
    """
    origins = np.asarray(origins)
    index = get_future_index(pd.DatetimeIndex(panel.index), horizon + 1)
    day = get_slots_per_day(index)
    values = np.vstack(
        [panel.to_numpy(dtype=float), np.full((horizon + 1, panel.shape[1]), np.nan)]
    )
    targets = origins[:, None] + np.arange(horizon)[None, :]
    back = np.ceil((targets - origins[:, None] + 1) / day).astype(int)
    out = np.empty((*targets.shape, panel.shape[1]))
    for days_back in np.unique(back):
        mask = back == days_back
        rows, inverse = np.unique(targets[mask], return_inverse=True)
        out[mask] = answer(values, index, rows, int(days_back))[inverse]
    return out
