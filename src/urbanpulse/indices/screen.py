"""Denomination and data-availability screening: the first two pipeline steps."""

from __future__ import annotations

import numpy as np
import pandas as pd

from urbanpulse.errors import ConfigurationError
from urbanpulse.indices.framework import Framework


def compute_denominated(
    values: pd.DataFrame, denominators: pd.DataFrame, framework: Framework
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Divide each indicator by its framework denominator, times its scale.

    ``scale`` turns ratios into readable units, e.g. 10,000 for "patents per
    10,000 residents" when the denominator is the resident count.

    Returns
    -------
    tuple of pandas.DataFrame
        The denominated table (same shape as ``values``) and a details table with
        columns: indicator, denominator, scale, n_missing_denominator.
    """
    out = values.copy()
    rows = []
    ind = framework.nodes[framework.nodes["kind"] == "indicator"].set_index("code")
    for code in values.columns:
        denom = ind.at[code, "denominator"] if code in ind.index else None
        if denom is None:
            continue
        if denom not in denominators.columns:
            raise ConfigurationError(f"indicator {code!r} needs denominator {denom!r}, absent")
        d = denominators[denom].astype(float).replace(0.0, np.nan)
        scale = float(ind.at[code, "scale"])
        out[code] = values[code] * scale / d
        rows.append(
            {
                "indicator": code,
                "denominator": denom,
                "scale": scale,
                "n_missing_denominator": int(d.isna().sum()),
            }
        )
    details = pd.DataFrame(
        rows, columns=["indicator", "denominator", "scale", "n_missing_denominator"]
    )
    return out, details


def compute_screened(
    values: pd.DataFrame, *, min_coverage: float = 0.0, by: str = "unit"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop rows (``by="unit"``) or indicators (``by="indicator"``) with too little data.

    COINr's ``Screen(dat_thresh, unit_screen="byNA")`` keeps a unit when the share
    of non-missing indicators is at least ``dat_thresh``; ``by="unit"`` does the same.

    Returns
    -------
    tuple of pandas.DataFrame
        The screened table and a details table with columns: item, coverage, kept.
    """
    if by not in ("unit", "indicator"):
        raise ConfigurationError(f"screen 'by' must be 'unit' or 'indicator', not {by!r}")
    axis = 1 if by == "unit" else 0
    coverage = values.notna().mean(axis=axis)
    kept = coverage >= min_coverage
    details = pd.DataFrame(
        {
            "item": [str(i) for i in coverage.index],
            "coverage": coverage.to_numpy(),
            "kept": kept.to_numpy(),
        }
    )
    out = values.loc[kept] if by == "unit" else values.loc[:, kept]
    return out, details
