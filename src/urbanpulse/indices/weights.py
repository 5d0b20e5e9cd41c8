"""Weights: framework (manual), equal, entropy, PCA and CRITIC, normalised within siblings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from urbanpulse.errors import ConfigurationError
from urbanpulse.indices.framework import Framework

METHODS = ("framework", "manual", "equal", "entropy", "pca", "critic")


def compute_weights(
    framework: Framework,
    normalised: pd.DataFrame | None = None,
    *,
    method: str = "framework",
    manual: dict[str, float] | None = None,
) -> pd.Series:
    """Weights of every node, summing to one within each parent.

    ``method`` sets the indicator weights; aggregates keep their framework weights
    (data-driven weights of aggregates would need aggregated data first).
    ``entropy``, ``pca`` and ``critic`` need the normalised table.

    Returns
    -------
    pandas.Series
        Weight per node code (indicators and aggregates, root included as 1).
    """
    if method not in METHODS:
        raise ConfigurationError(f"unknown weighting {method!r}; use one of {METHODS}")
    w = framework.get_weights().copy()
    if method == "manual":
        unknown = set(manual or {}) - set(w.index)
        if unknown:
            raise ConfigurationError(f"manual weights for unknown codes: {sorted(unknown)}")
        w.update(pd.Series(manual or {}, dtype=float))
    for parent in framework.nodes["parent"].dropna().unique():
        kids = framework.get_children(parent)
        if method in ("equal",) or (
            method in ("entropy", "pca", "critic") and framework.get_node(kids[0])["level"] == 1
        ):
            w[kids] = _data_weights(method, normalised, kids)
    return _normalise_siblings(framework, w)


def _data_weights(method: str, normalised: pd.DataFrame | None, kids: list[str]) -> np.ndarray:
    if method == "equal":
        return np.full(len(kids), 1.0 / len(kids))
    if normalised is None:
        raise ConfigurationError(f"{method} weights need the normalised table")
    x = normalised[kids].dropna()
    if method == "entropy":
        return compute_entropy_weights(x.to_numpy())
    if method == "pca":
        _, loadings = compute_pca(x)
        return loadings.iloc[:, 0].to_numpy() ** 2
    return compute_critic_weights(x.to_numpy())


def _normalise_siblings(framework: Framework, w: pd.Series) -> pd.Series:
    out = w.astype(float).copy()
    for parent in framework.nodes["parent"].dropna().unique():
        kids = framework.get_children(parent)
        total = out[kids].sum()
        out[kids] = out[kids] / total if total > 0 else 1.0 / len(kids)
    out[framework.root] = 1.0
    return out


def compute_entropy_weights(x: np.ndarray) -> np.ndarray:
    """Entropy weights of the columns of a non-negative matrix.

    Zeros are allowed: p ln p is taken as 0 at p = 0 (its limit), rather than
    shifting the data by an arbitrary epsilon, which would change the weights.
    A column that is all zeros carries no information and gets weight 0.
    """
    x = np.asarray(x, dtype=float)
    if (x < 0).any():
        raise ConfigurationError("entropy weights need non-negative (normalised) values")
    n = x.shape[0]
    if n < 2:
        return np.full(x.shape[1], 1.0 / x.shape[1])
    totals = x.sum(axis=0)
    p = np.divide(x, totals, out=np.zeros_like(x), where=totals > 0)
    plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    e = -plogp.sum(axis=0) / np.log(n)
    e[totals == 0] = 1.0
    d = 1.0 - e
    return d / d.sum() if d.sum() > 0 else np.full(x.shape[1], 1.0 / x.shape[1])


def compute_critic_weights(x: np.ndarray) -> np.ndarray:
    """CRITIC weights: contrast (standard deviation) times conflict (sum of 1 - r)."""
    x = np.asarray(x, dtype=float)
    sd = x.std(axis=0, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.corrcoef(x, rowvar=False)
    r = np.nan_to_num(np.atleast_2d(r), nan=0.0)
    c = sd * (1.0 - r).sum(axis=0)
    return c / c.sum() if c.sum() > 0 else np.full(x.shape[1], 1.0 / x.shape[1])


def compute_pca(table: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """PCA on standardised columns (R's ``prcomp(scale = TRUE)``), complete rows only.

    Returns
    -------
    tuple
        Standard deviations of the components (Series ``pc1..pcK``), and loadings
        (DataFrame: one row per column of ``table``, columns ``pc1..pcK``; signs are
        arbitrary, as in any PCA).
    """
    x = table.dropna().to_numpy(dtype=float)
    corr = np.corrcoef(x, rowvar=False)
    vals, vecs = np.linalg.eigh(corr)
    order = np.argsort(vals)[::-1]
    vals, vecs = np.clip(vals[order], 0.0, None), vecs[:, order]
    names = [f"pc{i + 1}" for i in range(len(vals))]
    return (
        pd.Series(np.sqrt(vals), index=names),
        pd.DataFrame(vecs, index=table.columns, columns=names),
    )


def compute_effective_weights(framework: Framework, weights: pd.Series) -> pd.Series:
    """Each node's weight in the index: the product of normalised weights up to the root."""
    parents = framework.nodes.set_index("code")["parent"]
    out = {}
    for code in framework.nodes["code"]:
        total, node = 1.0, code
        while parents[node] is not None and not pd.isna(parents[node]):
            total *= weights[node]
            node = parents[node]
        out[code] = total
    return pd.Series(out)
