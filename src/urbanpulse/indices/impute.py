"""Imputation of missing indicator values: cross-section and panel methods."""

from __future__ import annotations

import numpy as np
import pandas as pd

from urbanpulse.errors import ConfigurationError

METHODS = ("none", "mean", "median", "group_mean", "group_median", "locf", "linear", "row_mean")


def compute_imputed(
    values: pd.DataFrame,
    *,
    method: str = "mean",
    groups: pd.Series | None = None,
    max_gap: int | None = None,
    directions: pd.Series | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fill missing values with one method.

    Parameters
    ----------
    values
        Wide table; for ``locf`` and ``linear`` its index must be (unit, time).
    method
        One of ``METHODS``. ``locf`` carries the last observation forward within a unit;
        ``linear`` interpolates between observations of a unit (never extrapolates).
        Both leave gaps longer than ``max_gap`` periods unfilled. ``row_mean`` is
        COINr's row-wise mean after a min-max pass (needs ``directions``).
    groups
        Group label per row (aligned on ``values.index``) for the group methods.

    Returns
    -------
    tuple of pandas.DataFrame
        The imputed table and a details table with columns: indicator, n_missing,
        n_imputed.
    """
    if method not in METHODS:
        raise ConfigurationError(f"unknown imputation method {method!r}; use one of {METHODS}")
    if method == "none":
        out = values.copy()
    elif method in ("mean", "median"):
        out = values.fillna(values.agg(method))
    elif method in ("group_mean", "group_median"):
        out = _impute_by_group(values, groups, method.removeprefix("group_"))
    elif method == "row_mean":
        out = _impute_row_mean(values, directions)
    else:
        out = _impute_panel(values, method, max_gap)
    details = pd.DataFrame(
        {
            "indicator": values.columns,
            "n_missing": values.isna().sum().to_numpy(),
            "n_imputed": (values.isna() & out.notna()).sum().to_numpy(),
        }
    )
    return out, details


def _impute_by_group(values: pd.DataFrame, groups: pd.Series | None, how: str) -> pd.DataFrame:
    if groups is None:
        raise ConfigurationError("group imputation needs a 'group' column")
    labels = groups.reindex(values.index)
    # Rows without a group label are left as they are, as COINr's i_mean_grp does.
    fill = values.groupby(labels, dropna=True).transform(how)
    return values.fillna(fill)


def _impute_row_mean(values: pd.DataFrame, directions: pd.Series | None) -> pd.DataFrame:
    """Row mean on min-max scaled columns, then scaled back (COINr normalise_first)."""
    d = pd.Series(1.0, index=values.columns) if directions is None else directions
    signed = values * d.reindex(values.columns).to_numpy()
    lo, hi = signed.min(), signed.max()
    scaled = (signed - lo) / (hi - lo)
    row_means = scaled.mean(axis=1)
    filled = scaled.apply(lambda col: col.fillna(row_means))
    back = (filled * (hi - lo) + lo) * d.reindex(values.columns).to_numpy()
    return values.fillna(back)


def _impute_panel(values: pd.DataFrame, method: str, max_gap: int | None) -> pd.DataFrame:
    if values.index.nlevels != 2:
        raise ConfigurationError(f"{method} imputation needs a (unit, time) index")
    ordered = values.sort_index()
    unit_level = ordered.index.names[0] or 0
    parts = []
    for _, block in ordered.groupby(level=unit_level, sort=False):
        parts.append(block.apply(lambda col: _fill_series(col, method, max_gap)))
    return pd.concat(parts).reindex(values.index)


def _fill_series(col: pd.Series, method: str, max_gap: int | None) -> pd.Series:
    """Fill one unit's time series, leaving runs of NaN longer than ``max_gap``."""
    times = np.asarray(col.index.get_level_values(-1), dtype=float)
    x = col.to_numpy(dtype=float)
    ok = ~np.isnan(x)
    if ok.sum() == 0:
        return col
    out = x.copy()
    obs_t, obs_x = times[ok], x[ok]
    for i in np.flatnonzero(~ok):
        before = np.flatnonzero(obs_t < times[i])
        if before.size == 0:
            continue  # neither method extrapolates backwards
        j = before[-1]
        if method == "locf":
            gap = times[i] - obs_t[j]
            if max_gap is None or gap <= max_gap:
                out[i] = obs_x[j]
            continue
        if j + 1 >= obs_t.size:
            continue  # linear interpolation never extrapolates forwards
        span = obs_t[j + 1] - obs_t[j] - 1  # missing periods between the two observations
        if max_gap is None or span <= max_gap:
            frac = (times[i] - obs_t[j]) / (obs_t[j + 1] - obs_t[j])
            out[i] = obs_x[j] + frac * (obs_x[j + 1] - obs_x[j])
    return pd.Series(out, index=col.index, name=col.name)
