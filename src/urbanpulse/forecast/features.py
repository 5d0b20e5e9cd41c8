"""Features of the learned model: recent lags, neighbours, calendar and the profile.

All features of a (origin, step, site) row use rows before the origin plus things
known in advance (the target's period of day, day type and day of the week, the fitted
profile), so a backtest never peeks at the future. The seasonal lags (the target's
slot one day and one week earlier) reach back whole days or weeks until the row is
known before the origin: a day ahead, "one week earlier" is the weekly naive itself. Levels enter as differences from the latest value
because one model serves every site and sites differ in level far more than in change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

LAGS = (2, 3, 4, 6, 9, 12, 18, 24)


@dataclass(slots=True)
class FeatureInputs:
    """Arrays every feature is cut from, rows aligned to the (extended) panel index."""

    last: np.ndarray  # latest known value per row and site (carried over gaps)
    profile: np.ndarray  # profile value per row and site
    slot: np.ndarray  # period of the local day per row
    day_type: np.ndarray  # day-type code per row
    weekday: np.ndarray  # local day of the week per row (0 Monday)
    day_rows: int  # rows per day
    neighbours: np.ndarray  # (sites, k) column positions of each site's neighbours
    site_mean: np.ndarray  # fitted mean per site
    input_steps: int


def build_features(inputs: FeatureInputs, origins: np.ndarray, step: int) -> pd.DataFrame:
    """Feature rows for every origin and site (origin-major), for forecast ``step``.

    Returns
    -------
    pandas.DataFrame
        One row per (origin, site); columns: last, lag_<k>, dev, dev_mean, profile_target,
        profile_change, day_lag, week_lag, week_lag_dev, recent_same_type, nb<i>_gap, nb<i>_change_1,
        nb<i>_change_3, nb<i>_dev, nbmean_gap, nbmean_change, slot, day_type, weekday,
        site_mean.
    """
    origins = np.asarray(origins)
    last = inputs.last[origins - 1]
    target = origins - 1 + step
    dev = inputs.last - inputs.profile
    columns: dict[str, np.ndarray] = {"last": last}
    for lag in (k for k in LAGS if k <= inputs.input_steps):
        columns[f"lag_{lag}"] = inputs.last[origins - lag] - last
    window = origins[:, None] - np.arange(1, inputs.input_steps + 1)[None, :]
    columns["dev"] = dev[origins - 1]
    columns["dev_mean"] = dev[window].mean(axis=1)
    columns["profile_target"] = inputs.profile[target]
    columns["profile_change"] = inputs.profile[target] - inputs.profile[origins - 1]
    columns |= _seasonal_lag_columns(inputs, origins, step, last, dev)
    columns |= _neighbour_columns(inputs, origins, last, dev)
    frame = pd.DataFrame({name: values.ravel() for name, values in columns.items()})
    sites = last.shape[1]
    frame["slot"] = np.repeat(inputs.slot[target], sites)
    frame["day_type"] = np.repeat(inputs.day_type[target], sites)
    frame["weekday"] = np.repeat(inputs.weekday[target], sites)
    frame["site_mean"] = np.tile(inputs.site_mean, len(origins))
    return frame


def get_seasonal_lag_rows(origins: np.ndarray, step: int, season: int) -> np.ndarray:
    """The target's row whole seasons back, the latest one before the origin."""
    target = np.asarray(origins) - 1 + step
    return target - season * int(np.ceil(step / season))


def _seasonal_lag_columns(
    inputs: FeatureInputs, origins: np.ndarray, step: int, last: np.ndarray, dev: np.ndarray
) -> dict[str, np.ndarray]:
    """Same slot a day and a week earlier, as changes from the latest value (NaN before
    the panel's start: LightGBM treats missing values as their own branch)."""
    columns = {}
    for name, season in (("day_lag", inputs.day_rows), ("week_lag", 7 * inputs.day_rows)):
        rows = get_seasonal_lag_rows(origins, step, season)
        inside = (rows >= 0)[:, None]
        columns[name] = np.where(inside, inputs.last[np.maximum(rows, 0)] - last, np.nan)
        if name == "week_lag":
            # how far last week's slot sat from its profile: a lasting shift shows here
            columns["week_lag_dev"] = np.where(inside, dev[np.maximum(rows, 0)], np.nan)
    columns["recent_same_type"] = compute_recent_same_type(inputs, origins, step) - last
    return columns


def compute_recent_same_type(
    inputs: FeatureInputs, origins: np.ndarray, step: int, *, days: int = 5, reach: int = 21
) -> np.ndarray:
    """Mean of the target's slot over the latest ``days`` days of its day type before
    the origin (looking back at most ``reach`` days): shape (origins, sites).

    It follows the level of recent weeks, where the fitted profile stays where it was
    fitted, and rests on five days where the weekly lag rests on one.
    """
    target = np.asarray(origins) - 1 + step
    first = int(np.ceil(step / inputs.day_rows))
    total = np.zeros((len(target), inputs.last.shape[1]))
    found = np.zeros((len(target), 1))
    for back in range(first, first + reach):
        rows = target - back * inputs.day_rows
        take = (rows >= 0) & (inputs.day_type[np.maximum(rows, 0)] == inputs.day_type[target])
        take &= found[:, 0] < days
        values = inputs.last[np.maximum(rows, 0)]
        total += np.where(take[:, None], np.nan_to_num(values), 0.0)
        found[:, 0] += take
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(found > 0, total / np.maximum(found, 1), np.nan)


def _neighbour_columns(
    inputs: FeatureInputs, origins: np.ndarray, last: np.ndarray, dev: np.ndarray
) -> dict[str, np.ndarray]:
    columns: dict[str, np.ndarray] = {}
    series = inputs.last
    span = min(inputs.input_steps, 12)
    for i in range(inputs.neighbours.shape[1]):
        cols = inputs.neighbours[:, i]
        now = series[origins - 1][:, cols]
        columns[f"nb{i}_gap"] = now - last
        columns[f"nb{i}_change_1"] = now - series[origins - 2][:, cols]
        columns[f"nb{i}_change_3"] = now - series[origins - 4][:, cols]
        columns[f"nb{i}_dev"] = dev[origins - 1][:, cols]
    if inputs.neighbours.shape[1]:
        mean_now = series[origins - 1][:, inputs.neighbours].mean(axis=2)
        mean_then = series[origins - span][:, inputs.neighbours].mean(axis=2)
        columns["nbmean_gap"] = mean_now - last
        columns["nbmean_change"] = mean_now - mean_then
    return columns


def compute_neighbours(
    values: np.ndarray,
    *,
    k: int,
    site_ids: list[str],
    adjacency: pd.DataFrame | None = None,
) -> np.ndarray:
    """Each site's k most useful neighbours, as column positions: shape (sites, k).

    With ``adjacency`` (weights indexed and labelled by site id) the heaviest links come
    first; otherwise, and to fill up, sites whose recent changes best foretell this
    site's next changes (lead-lag correlation of differences), because congestion and
    pollution travel: an upstream drop shows up downstream minutes later.
    """
    sites = values.shape[1]
    k = min(k, sites - 1)
    if k <= 0:
        return np.zeros((sites, 0), dtype=int)
    score = compute_lead_lag(values)
    if adjacency is not None:
        weights = adjacency.reindex(index=site_ids, columns=site_ids).fillna(0).to_numpy(float)
        score = np.where(weights > 0, 10.0 + weights, score)  # linked sites rank first
    np.fill_diagonal(score, -np.inf)
    return np.argsort(-score, axis=1)[:, :k]


def compute_lead_lag(values: np.ndarray, *, lags: int = 3) -> np.ndarray:
    """score[i, j]: correlation of site i's next change with site j's last ``lags`` changes."""
    changes = np.diff(pd.DataFrame(values).ffill().bfill().to_numpy(), axis=0)
    scale = changes.std(axis=0)
    z = (changes - changes.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    if len(z) <= lags:
        return np.zeros((values.shape[1], values.shape[1]))
    future = z[lags:]
    past = sum(z[lags - j - 1 : len(z) - j - 1] for j in range(lags))
    return np.asarray(future.T @ past) / len(future)
