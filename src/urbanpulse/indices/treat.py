"""Outlier treatment by the JRC rule: winsorise up to a limit, else log-transform.

An indicator fails when |skewness| >= ``skew_thresh`` AND kurtosis >= ``kurt_thresh``
(skewness and kurtosis as in Excel, e1071 type 2, as COINr uses). A failing
indicator has its most extreme value pulled in to the next value, one step at a
time, on the side its skew points to, until it passes or ``winmax`` points have
been winsorised. If it still fails, the original values get COINr's ``log_CT``
transform, log(x - min + 0.01 (max - min)), instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DETAIL_COLUMNS = [
    "indicator",
    "skew_before",
    "kurt_before",
    "treatment",
    "n_winsorised_high",
    "n_winsorised_low",
    "skew_after",
    "kurt_after",
    "passes_after",
]


def compute_skew(x: np.ndarray) -> float:
    """Sample skewness, Excel / e1071 type 2; NaN when fewer than 3 values."""
    x = x[~np.isnan(x)]
    n = x.size
    if n < 3:
        return float("nan")
    d = x - x.mean()
    m2 = np.sum(d**2)
    if m2 == 0:
        return 0.0
    g = np.sqrt(n) * np.sum(d**3) / m2**1.5
    return float(g * np.sqrt(n * (n - 1)) / (n - 2))


def compute_kurtosis(x: np.ndarray) -> float:
    """Sample excess kurtosis, Excel / e1071 type 2; NaN when fewer than 4 values."""
    x = x[~np.isnan(x)]
    n = x.size
    if n < 4:
        return float("nan")
    d = x - x.mean()
    m2 = np.sum(d**2)
    if m2 == 0:
        return 0.0
    r = n * np.sum(d**4) / m2**2
    return float(((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3)))


def get_passes(x: np.ndarray, skew_thresh: float = 2.0, kurt_thresh: float = 3.5) -> bool:
    """True when the values need no treatment (or are too few to judge)."""
    sk, kt = compute_skew(x), compute_kurtosis(x)
    if np.isnan(sk) or np.isnan(kt):
        return True
    return bool(abs(sk) < skew_thresh or kt < kurt_thresh)


@dataclass(frozen=True)
class Winsorised:
    """Result of winsorising one vector."""

    values: np.ndarray
    high: frozenset[int]
    low: frozenset[int]


def compute_winsorised(
    x: np.ndarray, *, winmax: int | None = 5, skew_thresh: float = 2.0, kurt_thresh: float = 3.5
) -> Winsorised:
    """Winsorise the side the skew points to, one step at a time, until the vector passes.

    The limit counts distinct points whose value was changed; tied extremes move
    together, so one step may winsorise several points (as in COINr).
    """
    x = x.astype(float).copy()
    high: set[int] = set()
    low: set[int] = set()
    while not get_passes(x, skew_thresh, kurt_thresh):
        if winmax is not None and len(high) + len(low) >= winmax:
            break
        finite = ~np.isnan(x)
        if compute_skew(x) >= 0:
            top = np.nanmax(x)
            idx = np.flatnonzero(finite & (x == top))
            rest = x[finite & (x != top)]
            if rest.size == 0:
                break
            x[idx] = rest.max()
            high.update(idx.tolist())
        else:
            bottom = np.nanmin(x)
            idx = np.flatnonzero(finite & (x == bottom))
            rest = x[finite & (x != bottom)]
            if rest.size == 0:
                break
            x[idx] = rest.min()
            low.update(idx.tolist())
    return Winsorised(x, frozenset(high), frozenset(low))


def compute_log_ct(x: np.ndarray) -> np.ndarray:
    """COINr's ``log_CT``: log(x - min + 0.01 (max - min)), defined for any sign."""
    lo, hi = np.nanmin(x), np.nanmax(x)
    return np.log(x - lo + 0.01 * (hi - lo))


def compute_treated(
    values: pd.DataFrame,
    *,
    winmax: int | None = 5,
    skew_thresh: float = 2.0,
    kurt_thresh: float = 3.5,
    transform: str = "log",
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Treat every indicator column for outliers.

    Parameters
    ----------
    transform
        What to do when winsorising is not enough: ``"log"`` applies ``log_CT`` to
        the original values (COINr's default, ``combine_treat = FALSE``);
        ``"none"`` keeps the winsorised values.

    Returns
    -------
    tuple of pandas.DataFrame
        The treated table; a details table with columns ``DETAIL_COLUMNS``; and a
        points table with columns: row, indicator, treatment (``winhi``, ``winlo``).
    """
    out = values.copy()
    details, points = [], []
    for code in values.columns:
        x = values[code].to_numpy(dtype=float)
        row = {
            "indicator": code,
            "skew_before": compute_skew(x),
            "kurt_before": compute_kurtosis(x),
        }
        treated, how, win = x, "none", Winsorised(x, frozenset(), frozenset())
        if not get_passes(x, skew_thresh, kurt_thresh):
            win = compute_winsorised(
                x, winmax=winmax, skew_thresh=skew_thresh, kurt_thresh=kurt_thresh
            )
            treated, how = win.values, "winsorise"
            if not get_passes(treated, skew_thresh, kurt_thresh) and transform == "log":
                treated, how = compute_log_ct(x), "log"
                win = Winsorised(treated, frozenset(), frozenset())
        out[code] = treated
        row.update(
            treatment=how,
            n_winsorised_high=len(win.high),
            n_winsorised_low=len(win.low),
            skew_after=compute_skew(treated),
            kurt_after=compute_kurtosis(treated),
            passes_after=get_passes(treated, skew_thresh, kurt_thresh),
        )
        details.append(row)
        for i in sorted(win.high):
            points.append({"row": str(values.index[i]), "indicator": code, "treatment": "winhi"})
        for i in sorted(win.low):
            points.append({"row": str(values.index[i]), "indicator": code, "treatment": "winlo"})
    return (
        out,
        pd.DataFrame(details, columns=DETAIL_COLUMNS),
        pd.DataFrame(points, columns=["row", "indicator", "treatment"]),
    )
