"""Normalisation: bring indicators to one scale, higher always better."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from urbanpulse.errors import ConfigurationError

METHODS = ("minmax", "zscore", "goalposts", "rank", "target", "base_year")


def compute_normalised(
    values: pd.DataFrame,
    directions: pd.Series,
    *,
    method: str = "minmax",
    lower: float = 0.0,
    upper: float = 100.0,
    targets: pd.Series | None = None,
    goalposts: dict[str, Any] | None = None,
    base_year: int | None = None,
    reference: str = "unit",
    within: str = "all",
    shifts: pd.Series | None = None,
) -> pd.DataFrame:
    """Normalise every column; directions (+1/-1) make higher always better.

    Parameters
    ----------
    method
        ``minmax`` to [lower, upper]; ``zscore`` to mean ``lower`` and sd ``upper``
        (so pass lower=0, upper=1 for plain z-scores); ``goalposts`` to [0, upper]
        between per-indicator goalposts (``{code: [low, high]}``, observed range where
        absent), clipped; ``rank`` to [0, upper] by fractional rank; ``target`` to
        [0, upper] as the distance from the minimum to each indicator's target, capped;
        ``base_year`` as 100 x value / base-year value (inverted for negative
        indicators), as the official Beijing-Tianjin-Hebei index does.
    reference
        For ``base_year``: ``unit`` divides by each unit's own base-year value;
        ``mean`` by the base-year mean over units, keeping units comparable.
    shifts
        For ``base_year``: a constant added to each indicator before the ratio (the
        framework's ``base_shift``), so that indicators crossing zero (growth gaps in
        percentage points) are read on a positive scale, e.g. 100 + gap.
    within
        ``all`` pools every row; ``time`` normalises each period on its own.

    Returns
    -------
    pandas.DataFrame
        Same shape, index and columns as ``values``.
    """
    if method not in METHODS:
        raise ConfigurationError(f"unknown normalisation {method!r}; use one of {METHODS}")
    d = directions.reindex(values.columns).fillna(1.0)
    if method == "base_year":
        return _normalise_base_year(values, d, base_year, reference, shifts)
    signed = values * d.to_numpy()
    if within == "time":
        if values.index.nlevels != 2:
            raise ConfigurationError("within='time' needs a (unit, time) index")
        time_level = values.index.names[-1] or -1
        return (
            signed.groupby(level=time_level, group_keys=False)
            .apply(
                lambda block: _normalise_block(block, d, method, lower, upper, targets, goalposts)
            )
            .reindex(values.index)
        )
    if within != "all":
        raise ConfigurationError(f"within must be 'all' or 'time', not {within!r}")
    return _normalise_block(signed, d, method, lower, upper, targets, goalposts)


def _normalise_block(
    signed: pd.DataFrame,
    d: pd.Series,
    method: str,
    lower: float,
    upper: float,
    targets: pd.Series | None,
    goalposts: dict[str, Any] | None,
) -> pd.DataFrame:
    lo, hi = signed.min(), signed.max()
    if method == "minmax":
        span = (hi - lo).replace(0.0, np.nan)
        out = (signed - lo) / span * (upper - lower) + lower
        # A constant indicator carries no ranking information: give it the midpoint.
        return out.fillna({c: (lower + upper) / 2 for c in signed.columns[(hi - lo) == 0]})
    if method == "zscore":
        sd = signed.std().replace(0.0, np.nan)
        # A constant indicator sits at the mean for every unit.
        return ((signed - signed.mean()) / sd * upper + lower).fillna(
            {c: lower for c in signed.columns[sd.isna()]}
        )
    if method == "rank":
        n = signed.notna().sum().replace(1, np.nan)
        return (signed.rank(method="average") - 1) / (n - 1) * upper
    if method == "goalposts":
        gp = goalposts or {}
        low = pd.Series({c: gp[c][0] * d[c] if c in gp else lo[c] for c in signed.columns})
        high = pd.Series({c: gp[c][1] * d[c] if c in gp else hi[c] for c in signed.columns})
        a, b = np.minimum(low, high), np.maximum(low, high)
        span = (b - a).replace(0.0, np.nan)
        out = ((signed - a) / span).clip(0.0, 1.0) * upper
        return out.fillna({c: upper / 2 for c in signed.columns[span.isna()]})
    # method == "target"
    if targets is None:
        raise ConfigurationError("target normalisation needs targets in the framework")
    t = targets.reindex(signed.columns).astype(float) * d
    if t.isna().any():
        raise ConfigurationError(f"indicators without a target: {list(t.index[t.isna()])}")
    return ((signed - lo) / (t - lo)).clip(upper=1.0) * upper


def _normalise_base_year(
    values: pd.DataFrame,
    d: pd.Series,
    base_year: int | None,
    reference: str,
    shifts: pd.Series | None = None,
) -> pd.DataFrame:
    if values.index.nlevels != 2 or base_year is None:
        raise ConfigurationError("base_year normalisation needs a (unit, time) index and base_year")
    shift = pd.Series(0.0, index=values.columns)
    if shifts is not None:
        shift = shifts.reindex(values.columns).astype(float).fillna(0.0)
    values = values + shift
    _check_positive(values)
    times = values.index.get_level_values(-1)
    base = values[times == base_year]
    if base.empty:
        raise ConfigurationError(f"no data in base year {base_year}")
    if reference == "unit":
        ref = base.droplevel(-1).reindex(values.index.get_level_values(0))
        ref.index = values.index
    elif reference == "mean":
        ref = pd.DataFrame([base.mean()] * len(values), index=values.index)
    else:
        raise ConfigurationError(f"reference must be 'unit' or 'mean', not {reference!r}")
    # A zero (no output yet, or Beijing's rail time to itself) has no ratio: it stays
    # missing and drops out of the mean rather than becoming 0 or infinity.
    ratio = values / ref.replace(0.0, np.nan) * 100.0
    inverse = ref / values.replace(0.0, np.nan) * 100.0
    positive = pd.DataFrame(
        [d.to_numpy() > 0] * len(values), index=values.index, columns=values.columns
    )
    return ratio.where(positive, inverse)


def _check_positive(values: pd.DataFrame) -> None:
    """Base-year ratios of a quantity that changes sign are meaningless: refuse them."""
    negative = [c for c in values.columns if (values[c] < 0).any()]
    if negative:
        raise ConfigurationError(
            f"base-year ratios need non-negative values, but {negative} have negative ones; "
            "give them a base_shift in the framework (e.g. 100 for percentage-point gaps)"
        )
