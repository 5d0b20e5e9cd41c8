"""Statistical checks of a built index: correlations, Cronbach's alpha, drop-one impact."""

from __future__ import annotations

import numpy as np
import pandas as pd

from urbanpulse.indices.aggregate import compute_aggregated
from urbanpulse.indices.framework import Framework
from urbanpulse.indices.tables import compute_ranks


def compute_cronbach_alpha(table: pd.DataFrame) -> float:
    """Cronbach's alpha from the pairwise-complete covariance matrix (as COINr).

    alpha = k^2 * mean off-diagonal covariance / sum of all covariances.
    """
    k = table.shape[1]
    cov = table.cov().to_numpy()  # pandas uses pairwise-complete observations, like R
    total = np.nansum(cov)
    mean_off = (total - np.nansum(np.diag(cov))) / (k * (k - 1))
    return float(k**2 * mean_off / total)


def compute_level_correlations(
    aggregated: pd.DataFrame, framework: Framework, *, method: str = "pearson"
) -> pd.DataFrame:
    """Correlation of every node with its parent.

    Returns
    -------
    pandas.DataFrame
        Columns: code, parent, level, correlation.
    """
    rows = []
    for _, node in framework.nodes.dropna(subset=["parent"]).iterrows():
        r = aggregated[node["code"]].corr(aggregated[node["parent"]], method=method)
        rows.append(
            {
                "code": node["code"],
                "parent": node["parent"],
                "level": node["level"],
                "correlation": r,
            }
        )
    return pd.DataFrame(rows, columns=["code", "parent", "level", "correlation"])


def compute_drop_one_impact(
    normalised: pd.DataFrame,
    framework: Framework,
    weights: pd.Series,
    *,
    level: int,
    method: str | list[str] = "arithmetic",
) -> pd.DataFrame:
    """Rank change of the index when each node of ``level`` is removed in turn.

    A node is removed by setting its weight to zero and re-aggregating, as COINr's
    ``remove_elements`` does; ranks are COINr's (descending, ties share the lowest).

    Returns
    -------
    pandas.DataFrame
        Columns: removed, mean_abs_rank_change, max_abs_rank_change.
    """
    root = framework.root
    nominal = compute_ranks(
        compute_aggregated(normalised, framework, weights, method=method)[[root]]
    )[root]
    rows = []
    for code in framework.get_codes(level):
        w = weights.copy()
        w[code] = 0.0
        agg = compute_aggregated(normalised, framework, w, method=method)
        shift = (compute_ranks(agg[[root]])[root] - nominal).abs()
        rows.append(
            {
                "removed": code,
                "mean_abs_rank_change": float(shift.mean()),
                "max_abs_rank_change": float(shift.max()),
            }
        )
    return pd.DataFrame(rows, columns=["removed", "mean_abs_rank_change", "max_abs_rank_change"])
