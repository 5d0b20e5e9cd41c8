"""Forecast accuracy measures, the same everywhere (backtests, benchmarks, the API).

Arrays may have any shape; cells where the truth or the forecast is missing are left
out. ``accuracy`` and ``r2`` follow the T-GCN paper so published figures can be checked.
"""

from __future__ import annotations

import numpy as np

METRIC_NAMES = ("rmse", "mae", "mape", "wape", "accuracy", "r2")


def compute_metrics(y: np.ndarray, yhat: np.ndarray) -> dict[str, float]:
    """Point-forecast errors over all cells.

    Returns
    -------
    dict
        rmse, mae, mape (percent, over cells with y != 0), wape (percent),
        accuracy (1 - ||y - yhat||_F / ||y||_F), r2 (1 - SSE / SST around the mean of y),
        n (cells scored).
    """
    y, yhat = _paired(y, yhat)
    if y.size == 0:
        return {name: float("nan") for name in METRIC_NAMES} | {"n": 0.0}
    error = y - yhat
    sse = float(np.sum(error**2))
    nonzero = y != 0
    return {
        "rmse": float(np.sqrt(sse / y.size)),
        "mae": float(np.mean(np.abs(error))),
        "mape": _ratio(np.sum(np.abs(error[nonzero]) / np.abs(y[nonzero])), nonzero.sum()) * 100,
        "wape": _ratio(np.sum(np.abs(error)), np.sum(np.abs(y))) * 100,
        "accuracy": 1 - _ratio(np.sqrt(sse), np.sqrt(np.sum(y**2))),
        "r2": 1 - _ratio(sse, np.sum((y - y.mean()) ** 2)),
        "n": float(y.size),
    }


def compute_coverage(y: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """Share of cells whose truth falls inside [low, high] (NaN cells left out)."""
    y, low, high = (np.asarray(a, dtype=float).ravel() for a in (y, low, high))
    keep = ~(np.isnan(y) | np.isnan(low) | np.isnan(high))
    if not keep.any():
        return float("nan")
    return float(np.mean((y[keep] >= low[keep]) & (y[keep] <= high[keep])))


def _paired(y: np.ndarray, yhat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float).ravel()
    yhat = np.asarray(yhat, dtype=float).ravel()
    if y.shape != yhat.shape:
        raise ValueError(f"truth and forecast differ in size: {y.size} vs {yhat.size}")
    keep = ~(np.isnan(y) | np.isnan(yhat))
    return y[keep], yhat[keep]


def _ratio(numerator: float, denominator: float) -> float:
    # A zero denominator (all-zero truth) makes the measure undefined, not infinite.
    return float(numerator / denominator) if denominator else float("nan")
