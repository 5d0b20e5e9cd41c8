"""Aggregation up the hierarchy: weighted arithmetic, geometric or harmonic means."""

from __future__ import annotations

import numpy as np
import pandas as pd

from urbanpulse.errors import ConfigurationError
from urbanpulse.indices.framework import Framework

METHODS = ("arithmetic", "geometric", "harmonic")


def compute_weighted_mean(x: np.ndarray, w: np.ndarray, method: str = "arithmetic") -> np.ndarray:
    """Row-wise weighted mean of ``x`` (rows x items), skipping missing items.

    Missing items drop out and the remaining weights are renormalised, as COINr's
    ``a_amean`` does with ``na.rm``. A geometric or harmonic mean with a zero item is
    zero (its limit); negative items are an error for those two.
    """
    if method not in METHODS:
        raise ConfigurationError(f"unknown aggregation {method!r}; use one of {METHODS}")
    ok = ~np.isnan(x)
    ww = np.where(ok, w[None, :], 0.0)
    wsum = ww.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "arithmetic":
            out = (np.where(ok, x, 0.0) * ww).sum(axis=1) / wsum
        else:
            if (x[ok] < 0).any():
                raise ConfigurationError(
                    f"{method} mean needs non-negative values; normalise to a positive range first"
                )
            if method == "geometric":
                logs = np.where(ok, np.log(np.where(ok & (x > 0), x, 1.0)), 0.0)
                out = np.exp((logs * ww).sum(axis=1) / wsum)
                out[((x == 0) & (ww > 0)).any(axis=1)] = 0.0
            else:
                inv = np.where(ok & (x > 0), 1.0 / np.where(x > 0, x, 1.0), 0.0)
                out = wsum / (inv * ww).sum(axis=1)
                out[((x == 0) & (ww > 0)).any(axis=1)] = 0.0
    out[wsum == 0] = np.nan
    return out


def compute_aggregated(
    normalised: pd.DataFrame,
    framework: Framework,
    weights: pd.Series,
    *,
    method: str | list[str] = "arithmetic",
) -> pd.DataFrame:
    """Aggregate level by level, from indicators up to the index.

    Parameters
    ----------
    method
        One method for every level, or a list with one method per aggregation
        level (level 2 first).

    Returns
    -------
    pandas.DataFrame
        The indicator columns of ``normalised`` followed by one column per aggregate,
        lowest level first.
    """
    levels = list(range(2, framework.max_level + 1))
    methods = [method] * len(levels) if isinstance(method, str) else list(method)
    if len(methods) != len(levels):
        raise ConfigurationError(f"need {len(levels)} aggregation methods, got {len(methods)}")
    out = normalised.copy()
    new: dict[str, np.ndarray] = {}
    for level, how in zip(levels, methods, strict=True):
        for code in framework.get_codes(level):
            kids = framework.get_children(code)
            block = np.column_stack(
                [new[k] if k in new else out[k].to_numpy(dtype=float) for k in kids]
            )
            new[code] = compute_weighted_mean(block, weights[kids].to_numpy(dtype=float), how)
    return pd.concat([out, pd.DataFrame(new, index=out.index)], axis=1)
