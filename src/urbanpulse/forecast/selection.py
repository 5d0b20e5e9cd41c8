"""Model selection by backtest, per group of sites, with calibrated intervals.

Which model is best depends on the site: a steady sensor is served by persistence, a
commuter road by its profile plus the learned model. So the last part of the training
rows is held out, every candidate forecasts it, and each group of sites keeps the
candidate with the lowest RMSE there; the chosen forecasts' residuals on the same rows
calibrate the p10/p90 bands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from urbanpulse.forecast.intervals import ResidualBands, compute_residual_bands, get_holdout_origins
from urbanpulse.forecast.panel import build_windows
from urbanpulse.forecast.protocol import Forecaster


def compute_site_groups(panel: pd.DataFrame, *, n_groups: int = 4) -> dict[str, str]:
    """Sites grouped by how much they change from one period to the next.

    Returns
    -------
    dict
        site id -> group name ('change_q1' quietest .. 'change_q<n>'), or 'all' when there
        are too few sites to split.
    """
    sites = list(panel.columns)
    if len(sites) < 2 * n_groups:
        return dict.fromkeys(sites, "all")
    change = panel.diff().abs().mean().fillna(0).to_numpy()
    ranks = pd.Series(change).rank(method="first").to_numpy()
    bins = np.ceil(ranks / len(sites) * n_groups).astype(int)
    return {site: f"change_q{b}" for site, b in zip(sites, bins, strict=True)}


class AutoSelect:
    """Pick the best candidate per site group on held-out rows; add conformal bands.

    Parameters
    ----------
    candidates
        Forecasters to choose from (fresh instances; they are fitted here).
    groups
        site id -> group; default :func:`compute_site_groups`.
    holdout_fraction
        Share of the training rows held out for selection and calibration.
    coverage
        Nominal coverage of the band (0.8 gives p10 and p90).
    refit
        Refit the chosen candidates on all rows after selection.
    """

    name = "auto"

    def __init__(
        self,
        candidates: Sequence[Forecaster],
        *,
        groups: Mapping[str, str] | None = None,
        holdout_fraction: float = 0.2,
        coverage: float = 0.8,
        input_steps: int = 12,
        refit: bool = True,
    ) -> None:
        self.candidates = list(candidates)
        self.groups = dict(groups) if groups else None
        self.holdout_fraction = holdout_fraction
        self.coverage = coverage
        self.input_steps = input_steps
        self.refit = refit
        self.choice: dict[str, str] = {}
        self.scores = pd.DataFrame()
        self.bands: ResidualBands | None = None
        self.site_groups: dict[str, str] = {}

    def fit(self, panel: pd.DataFrame, *, horizon: int) -> AutoSelect:
        """Backtest every candidate on the held-out rows, choose per group, calibrate."""
        groups = self.groups or compute_site_groups(panel)
        group_of = np.array([groups.get(site, "all") for site in panel.columns])
        split = int(len(panel) * (1 - self.holdout_fraction))
        origins = get_holdout_origins(len(panel), split, input_steps=self.input_steps)
        truth = build_windows(panel.to_numpy(dtype=float), origins, horizon)
        residuals = {}
        for model in self.candidates:
            model.fit(panel.iloc[:split], horizon=horizon)
            residuals[model.name] = truth - model.predict(panel, origins, horizon=horizon)
        self.scores = _score_groups(residuals, group_of)
        best = self.scores.loc[self.scores.groupby("group")["rmse"].idxmin()]
        self.choice = {str(g): str(m) for g, m in zip(best["group"], best["model"], strict=True)}
        chosen = np.stack(
            [residuals[self.choice[g]][..., i] for i, g in enumerate(group_of)], axis=-1
        )
        self.bands = compute_residual_bands(chosen, coverage=self.coverage)
        self.site_groups = {str(s): str(g) for s, g in zip(panel.columns, group_of, strict=True)}
        if self.refit:
            for model in self._get_chosen():
                model.fit(panel, horizon=horizon)
        return self

    def predict(self, panel: pd.DataFrame, origins: np.ndarray, *, horizon: int) -> np.ndarray:
        """Each site's forecast from its group's chosen model."""
        forecasts = np.full((len(origins), horizon, panel.shape[1]), np.nan)
        chosen = [self.choice[self.site_groups[site]] for site in panel.columns]
        for model in self._get_chosen():
            columns = [i for i, name in enumerate(chosen) if name == model.name]
            forecasts[..., columns] = model.predict(panel, origins, horizon=horizon)[..., columns]
        return forecasts

    def predict_interval(
        self, panel: pd.DataFrame, origins: np.ndarray, *, horizon: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Point forecasts with p10/p90-style bounds, each (origins, horizon, sites)."""
        if self.bands is None:
            raise RuntimeError("fit before asking for intervals")
        forecasts = self.predict(panel, origins, horizon=horizon)
        return (forecasts, *self.bands.apply(forecasts))

    def get_site_models(self, site_ids: Sequence[str]) -> list[str]:
        """Name of the model that forecasts each site."""
        return [self.choice[self.site_groups[site]] for site in site_ids]

    def _get_chosen(self) -> list[Forecaster]:
        names = set(self.choice.values())
        return [m for m in self.candidates if m.name in names]


def _score_groups(residuals: dict[str, np.ndarray], group_of: np.ndarray) -> pd.DataFrame:
    """RMSE of every candidate in every group over the held-out windows.

    Returns
    -------
    pandas.DataFrame
        Columns: group, model, rmse, n.
    """
    rows = []
    for name, residual in residuals.items():
        for group in np.unique(group_of):
            cells = residual[..., group_of == group]
            cells = cells[~np.isnan(cells)]
            rmse = float(np.sqrt(np.mean(cells**2))) if cells.size else float("inf")
            rows.append({"group": group, "model": name, "rmse": rmse, "n": int(cells.size)})
    return pd.DataFrame(rows, columns=["group", "model", "rmse", "n"])
