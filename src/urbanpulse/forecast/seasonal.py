"""Seasonal profiles as arrays: each site's usual value by day type and period of day.

``profiles.compute_profile`` answers one site's profile for people; forecasting needs
the same figures for every site at once, and for training rows a leave-one-out version
(a row's own value must not be inside the profile a learned model sees beside it, or
the model learns to trust the profile far more than it deserves on new days).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from urbanpulse.catalog.calendar import DAY_TYPES
from urbanpulse.forecast.protocol import CalendarSpec, compute_slots, get_slots_per_day

WEEKDAY, WEEKEND, HOLIDAY = range(len(DAY_TYPES))


@dataclass(slots=True)
class SeasonalTable:
    """Sums and counts per (day type, slot, site), and the filled means derived from them."""

    sums: np.ndarray
    counts: np.ndarray
    means: np.ndarray
    spec: CalendarSpec

    def get_values(self, index: pd.DatetimeIndex) -> np.ndarray:
        """Profile value at each row of ``index`` for every site: shape (rows, sites)."""
        slot, day_type = compute_slots(index, self.spec)
        return self.means[day_type, slot]

    def get_loo_values(self, index: pd.DatetimeIndex, values: np.ndarray) -> np.ndarray:
        """Like :meth:`get_values` for the fitted rows, each row's own value left out."""
        slot, day_type = compute_slots(index, self.spec)
        sums, counts = self.sums[day_type, slot], self.counts[day_type, slot]
        seen = ~np.isnan(values)
        sums = sums - np.where(seen, values, 0.0)
        counts = counts - seen
        with np.errstate(invalid="ignore", divide="ignore"):
            loo = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        return np.where(np.isnan(loo), self.means[day_type, slot], loo)


def build_seasonal_table(panel: pd.DataFrame, spec: CalendarSpec) -> SeasonalTable:
    """Profile arrays of every site of ``panel``.

    Cells never observed borrow, in order: the weekend cell (for holidays), the mean of
    the site's other day types at that slot, the site's overall mean.
    """
    values = panel.to_numpy(dtype=float)
    slot, day_type = compute_slots(pd.DatetimeIndex(panel.index), spec)
    shape = (len(DAY_TYPES), get_slots_per_day(pd.DatetimeIndex(panel.index)), values.shape[1])
    sums, counts = np.zeros(shape), np.zeros(shape)
    seen = ~np.isnan(values)
    np.add.at(sums, (day_type, slot), np.where(seen, values, 0.0))
    np.add.at(counts, (day_type, slot), seen.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return SeasonalTable(sums, counts, _fill_means(means, values), spec)


def _fill_means(means: np.ndarray, values: np.ndarray) -> np.ndarray:
    means = means.copy()
    means[HOLIDAY] = np.where(np.isnan(means[HOLIDAY]), means[WEEKEND], means[HOLIDAY])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices are expected here
        across = np.nanmean(means, axis=0)
        overall = np.nanmean(values, axis=0)
    across = np.where(np.isnan(across), overall[None, :], across)
    return np.where(np.isnan(means), across[None, :, :], means)
