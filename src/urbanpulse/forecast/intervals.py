"""Prediction intervals from held-out residuals (split conformal, per step and site scale).

Residuals of forecasts made on rows the model did not learn from are divided by each
site's typical residual size, and their quantiles are taken per horizon step: a quiet
site gets a narrow band, a busy one a wide band, and the band widens with the step.

Held-out rows end where the test rows begin, and traffic or air quality drifts: bands
calibrated once on them covered 77 % instead of 80 % on later days. So
:func:`compute_recent_quantiles` recalibrates at every origin on the most recent scaled
residuals whose outcome was known before that origin (held-out ones first, then the
model's own errors on rows it never learned from), the way a running service would.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from urbanpulse.forecast.panel import build_windows
from urbanpulse.forecast.protocol import Forecaster

MIN_CELLS = 100
NO_PAIR = (float("nan"), float("nan"))


@dataclass(slots=True)
class ResidualBands:
    """Per-step quantiles of scaled residuals and per-site scales."""

    low: np.ndarray  # (steps,)
    high: np.ndarray  # (steps,)
    scale: np.ndarray  # (sites,)
    coverage: float

    def apply(self, forecasts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds around forecasts of shape (origins, steps, sites)."""
        steps = forecasts.shape[1]
        pick = np.minimum(np.arange(steps), len(self.low) - 1)  # later steps reuse the last band
        low = forecasts + self.low[pick][None, :, None] * self.scale[None, None, :]
        high = forecasts + self.high[pick][None, :, None] * self.scale[None, None, :]
        return low, high


def compute_residual_bands(residuals: np.ndarray, *, coverage: float = 0.8) -> ResidualBands:
    """Bands from held-out residuals (truth - forecast) of shape (origins, steps, sites).

    The quantile level gets the split-conformal finite-sample correction, so the band
    covers at least ``coverage`` on exchangeable data.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # sites without residuals -> NaN
        scale = np.nanmean(np.abs(residuals), axis=(0, 1))
    typical = np.nanmedian(scale) if np.isfinite(scale).any() else 1.0
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, typical if typical > 0 else 1.0)
    scaled = residuals / scale[None, None, :]
    tail = (1 - coverage) / 2
    low, high = np.empty(scaled.shape[1]), np.empty(scaled.shape[1])
    for step in range(scaled.shape[1]):
        values = scaled[:, step].ravel()
        values = values[~np.isnan(values)]
        low[step], high[step] = _conformal_pair(values, tail)
    return ResidualBands(low=low, high=high, scale=scale, coverage=coverage)


def compute_recent_quantiles(
    origins: np.ndarray,
    history_origins: np.ndarray,
    scaled: np.ndarray,
    *,
    coverage: float = 0.8,
    cells: int = 50_000,
    refresh: int = 12,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-origin, per-step band quantiles from the latest known scaled residuals.

    Parameters
    ----------
    origins
        Origins to calibrate for.
    history_origins, scaled
        Origins of past forecasts (sorted) and their scaled residuals, shape
        (history, steps, sites).
    cells
        How many of the most recent residual cells per step set the quantiles: enough
        for a stable 10 % tail, few enough to follow drift.
    refresh
        Recalibrate once every ``refresh`` rows (quantiles of a block of origins use
        what was known at the block's start, so nothing at or after an origin is read).

    Returns
    -------
    tuple of numpy.ndarray
        Lower and upper quantiles, each of shape (origins, steps); NaN where fewer than
        ``MIN_CELLS`` residuals were known.
    """
    origins = np.asarray(origins)
    steps = scaled.shape[1]
    low, high = np.empty((len(origins), steps)), np.empty((len(origins), steps))
    cutoffs = (origins // refresh) * refresh
    for step in range(steps):
        known_origin, values = _flatten_known(history_origins, scaled[:, step])
        # a cell is known at cutoff c when its truth row (origin + step) is before c
        ends = np.searchsorted(known_origin, cutoffs - step, side="left")
        for end in np.unique(ends):
            window = values[max(0, end - cells) : end]
            pair = (
                _conformal_pair(window, (1 - coverage) / 2) if window.size >= MIN_CELLS else NO_PAIR
            )
            low[ends == end, step], high[ends == end, step] = pair
    return low, high


def _flatten_known(origins: np.ndarray, scaled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-missing cells of (history, sites) in origin order, with each cell's origin."""
    repeated = np.repeat(np.asarray(origins), scaled.shape[1])
    values = scaled.ravel()
    keep = ~np.isnan(values)
    return repeated[keep], values[keep]


def _conformal_pair(values: np.ndarray, tail: float) -> tuple[float, float]:
    if values.size == 0:
        return float("nan"), float("nan")
    n = values.size
    level = min(1.0, np.ceil((n + 1) * (1 - tail)) / n)
    return float(np.quantile(values, 1 - level)), float(np.quantile(values, level))


def get_holdout_origins(
    rows: int, split: int, *, input_steps: int, max_origins: int = 2000
) -> np.ndarray:
    """Origins in [split, rows) with enough history, thinned to at most ``max_origins``."""
    origins = np.arange(max(split, input_steps), rows)
    stride = max(1, int(np.ceil(len(origins) / max_origins)))
    return origins[::stride]


class Conformal:
    """Any forecaster with p10/p90 bands calibrated on the last part of its training rows.

    The model is fitted on the first rows, its residuals on the held-out rows set the
    bands, and then (``refit=True``) it is fitted again on all rows.
    """

    def __init__(
        self,
        model: Forecaster,
        *,
        coverage: float = 0.8,
        holdout_fraction: float = 0.2,
        input_steps: int = 12,
        refit: bool = True,
    ) -> None:
        self.model = model
        self.name = model.name
        self.coverage = coverage
        self.holdout_fraction = holdout_fraction
        self.input_steps = input_steps
        self.refit = refit
        self.bands: ResidualBands | None = None

    def fit(self, panel: pd.DataFrame, *, horizon: int) -> Conformal:
        """Fit, calibrate on the held-out tail, then refit on everything."""
        split = int(len(panel) * (1 - self.holdout_fraction))
        self.model.fit(panel.iloc[:split], horizon=horizon)
        origins = get_holdout_origins(len(panel), split, input_steps=self.input_steps)
        forecasts = self.model.predict(panel, origins, horizon=horizon)
        truth = build_windows(panel.to_numpy(dtype=float), origins, horizon)
        self.bands = compute_residual_bands(truth - forecasts, coverage=self.coverage)
        if self.refit:
            self.model.fit(panel, horizon=horizon)
        return self

    def predict(self, panel: pd.DataFrame, origins: np.ndarray, *, horizon: int) -> np.ndarray:
        """Point forecasts of the wrapped model."""
        return self.model.predict(panel, origins, horizon=horizon)

    def predict_interval(
        self, panel: pd.DataFrame, origins: np.ndarray, *, horizon: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Point forecasts with lower and upper bounds, each (origins, horizon, sites)."""
        if self.bands is None:
            raise RuntimeError("fit before asking for intervals")
        forecasts = self.predict(panel, origins, horizon=horizon)
        return (forecasts, *self.bands.apply(forecasts))
