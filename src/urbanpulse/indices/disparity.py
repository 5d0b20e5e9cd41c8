"""Disparity measures: population-weighted Theil T and L with decomposition, CV, Gini, ratios."""

from __future__ import annotations

import numpy as np
import pandas as pd

from urbanpulse.errors import ConfigurationError


def _check(values: pd.Series, population: pd.Series | None) -> tuple[np.ndarray, np.ndarray]:
    x = values.to_numpy(dtype=float)
    p = np.ones_like(x) if population is None else population.reindex(values.index).to_numpy(float)
    ok = ~np.isnan(x) & ~np.isnan(p)
    x, p = x[ok], p[ok]
    if x.size == 0:
        raise ConfigurationError("disparity needs at least one value")
    if (p <= 0).any():
        raise ConfigurationError("population weights must be positive")
    return x, p


def compute_theil(
    values: pd.Series, population: pd.Series, groups: pd.Series | None = None
) -> pd.DataFrame:
    """Population-weighted Theil T and L of a per-capita value, with group decomposition.

    With y_i = value_i * pop_i, s_i = y_i / Y (share of the total) and p_i = pop_i / P:
    T = sum s_i ln(s_i / p_i) and L = sum p_i ln(p_i / s_i). With groups,
    T = sum_g S_g ln(S_g / P_g) + sum_g S_g T_g (between + within), and
    L = sum_g P_g ln(P_g / S_g) + sum_g P_g L_g.

    Returns
    -------
    pandas.DataFrame
        Index ``theil_t``, ``theil_l``; columns: total, between, within,
        between_share.
    """
    x, p = _check(values, population)
    if (x <= 0).any():
        raise ConfigurationError("Theil indices need positive values")
    idx = values.dropna().index.intersection(population.dropna().index)
    g = (
        pd.Series("all", index=idx)
        if groups is None
        else groups.reindex(idx).fillna("(none)").astype(str)
    )
    frame = pd.DataFrame({"y": x * p, "p": p, "g": g.to_numpy()})
    total_t, total_l = _theil_pair(frame["y"].to_numpy(), frame["p"].to_numpy())
    between_t = between_l = 0.0
    for _, block in frame.groupby("g"):
        s_g, p_g = block["y"].sum() / frame["y"].sum(), block["p"].sum() / frame["p"].sum()
        between_t += s_g * np.log(s_g / p_g)
        between_l += p_g * np.log(p_g / s_g)
    rows = {
        "theil_t": [total_t, between_t, total_t - between_t],
        "theil_l": [total_l, between_l, total_l - between_l],
    }
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["total", "between", "within"])
    out["between_share"] = np.where(out["total"] > 0, out["between"] / out["total"], 0.0)
    return out


def _theil_pair(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    s, q = y / y.sum(), p / p.sum()
    return float(np.sum(s * np.log(s / q))), float(np.sum(q * np.log(q / s)))


def compute_cv(values: pd.Series, population: pd.Series | None = None) -> float:
    """Coefficient of variation; population-weighted (Williamson's) when given populations."""
    x, p = _check(values, population)
    w = p / p.sum()
    mean = np.sum(w * x)
    if population is None:
        sd = float(np.std(x, ddof=1)) if x.size > 1 else 0.0
    else:
        sd = float(np.sqrt(np.sum(w * (x - mean) ** 2)))
    return sd / mean if mean != 0 else float("nan")


def compute_gini(values: pd.Series, population: pd.Series | None = None) -> float:
    """Gini coefficient, population-weighted when given populations (0 = equal)."""
    x, p = _check(values, population)
    if (x < 0).any():
        raise ConfigurationError("Gini needs non-negative values")
    order = np.argsort(x)
    x, w = x[order], p[order] / p.sum()
    mean = np.sum(w * x)
    if mean == 0:
        return 0.0
    # Mean absolute difference between all pairs of people, over twice the mean.
    diff = np.abs(x[:, None] - x[None, :])
    return float(np.sum(w[:, None] * w[None, :] * diff) / (2 * mean))


def compute_ratio(values: pd.Series, order: list[str] | None = None) -> pd.Series:
    """Values divided by the last unit of ``order`` (e.g. Beijing : Tianjin : Hebei = a : b : 1).

    Returns
    -------
    pandas.Series
        One ratio per unit in ``order``, the last being 1.
    """
    order = list(values.index) if order is None else order
    v = values.reindex(order).astype(float)
    if v.iloc[-1] == 0 or np.isnan(v.iloc[-1]):
        raise ConfigurationError(f"cannot form a ratio to {order[-1]!r}: its value is 0 or missing")
    return v / v.iloc[-1]


def get_ratio_text(ratio: pd.Series, *, digits: int = 2) -> str:
    """Format ratios as ``"a : b : 1"``."""
    parts = [f"{r:.{digits}f}" for r in ratio.iloc[:-1]]
    return " : ".join([*parts, "1"])


def compute_disparity_over_time(
    values: pd.Series, population: pd.Series, groups: pd.Series | None = None
) -> pd.DataFrame:
    """CV, Gini and Theil T/L (with between-group parts) for every period of a panel series.

    Parameters
    ----------
    values, population
        Indexed by (unit, time).

    Returns
    -------
    pandas.DataFrame
        One row per period; columns: time, cv, cv_weighted, gini_weighted, theil_t,
        theil_t_between, theil_l, theil_l_between.
    """
    rows = []
    for t, v in values.groupby(level=-1):
        v = v.droplevel(-1)
        pop = population.xs(t, level=-1) if population.index.nlevels == 2 else population
        th = compute_theil(v, pop, groups)
        rows.append(
            {
                "time": t,
                "cv": compute_cv(v),
                "cv_weighted": compute_cv(v, pop),
                "gini_weighted": compute_gini(v, pop),
                "theil_t": th.at["theil_t", "total"],
                "theil_t_between": th.at["theil_t", "between"],
                "theil_l": th.at["theil_l", "total"],
                "theil_l_between": th.at["theil_l", "between"],
            }
        )
    return pd.DataFrame(rows)
