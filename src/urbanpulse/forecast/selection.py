"""Model selection by backtest, per group of sites and horizon step, with calibrated bands.

Which model is best depends on the site and on how far ahead: a steady sensor is served
by persistence, a commuter road by its profile plus the learned model, and a day ahead
the usual value for the hour often beats anything that starts from the latest one. So
the last part of the training rows is held out, every candidate forecasts it, and each
(group of sites, horizon step) keeps the candidate with the lowest RMSE there. The
equal mean of each group's two best candidates competes too: two good models that err
differently (trees over lagged days, the mean of the latest days) beat both alone (on
Hangzhou's metro, validated on the last four training days: 0.80 of the weekly naive's
error against 0.81 and 0.83 for each alone), and a mean needs no weights to fit. The
chosen forecasts' residuals on the same rows calibrate the p10/p90 bands, which are
then kept current with the model's own errors on newer rows (see ``intervals``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from urbanpulse.forecast.intervals import (
    ResidualBands,
    compute_recent_quantiles,
    compute_residual_bands,
    get_holdout_origins,
)
from urbanpulse.forecast.panel import build_windows
from urbanpulse.forecast.protocol import CalendarSpec, Forecaster, get_slots_per_day

MIN_HOLDOUT_DAYS = 3
PAIR = "+"  # joins the names of two candidates whose mean is a candidate too


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
    """Pick the best candidate per site group and step on held-out rows; add bands.

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
    recalibrate
        Recalibrate the bands at each origin on the latest known residuals (held-out
        ones, then the chosen forecasts' errors on rows after the fitted ones); else
        keep the bands calibrated once on the held-out rows.
    calibration_cells
        How many recent residual cells per step the recalibrated bands use.
    calendar
        The sites' time zone: with it, horizons of a day or more are chosen on whole
        held-out days from local midnight (see ``_get_holdout``).
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
        recalibrate: bool = True,
        calibration_cells: int = 50_000,
        calendar: CalendarSpec | None = None,
    ) -> None:
        self.candidates = list(candidates)
        self.calendar = calendar
        self.groups = dict(groups) if groups else None
        self.holdout_fraction = holdout_fraction
        self.coverage = coverage
        self.input_steps = input_steps
        self.refit = refit
        self.recalibrate = recalibrate
        self.calibration_cells = calibration_cells
        self.plan: dict[str, tuple[str, ...]] = {}
        self.choice: dict[str, str] = {}
        self.scores = pd.DataFrame()
        self.bands: ResidualBands | None = None
        self.site_groups: dict[str, str] = {}
        self.history_origins = np.zeros(0, dtype=int)
        self.history_scaled = np.zeros((0, 0, 0))
        self.fit_rows = 0

    def fit(self, panel: pd.DataFrame, *, horizon: int) -> AutoSelect:
        """Backtest every candidate on the held-out rows, choose per group and step."""
        groups = self.groups or compute_site_groups(panel)
        group_of = np.array([groups.get(site, "all") for site in panel.columns])
        self.site_groups = {str(s): str(g) for s, g in zip(panel.columns, group_of, strict=True)}
        split, origins, whole_days = self._get_holdout(pd.DatetimeIndex(panel.index), horizon)
        truth = build_windows(panel.to_numpy(dtype=float), origins, horizon)
        residuals = {}
        for model in self.candidates:
            model.fit(panel.iloc[:split], horizon=horizon)
            residuals[model.name] = truth - model.predict(panel, origins, horizon=horizon)
        residuals |= _add_pair_means(residuals)
        self.scores = _score_groups(residuals, group_of)
        # A few held-out days give each step of a day a few cells per site: choosing
        # per step there chases noise, so whole days keep one model per group.
        self.plan = _choose_plan(_pool_steps(self.scores) if whole_days else self.scores, horizon)
        self.choice = {group: describe_plan(plan) for group, plan in self.plan.items()}
        chosen = _assemble(residuals, self._get_step_models(list(panel.columns), horizon))
        self.bands = compute_residual_bands(chosen, coverage=self.coverage)
        self.history_origins = origins
        self.history_scaled = chosen / self.bands.scale[None, None, :]
        self.fit_rows = len(panel)
        if self.refit:
            for model in self._get_chosen():
                model.fit(panel, horizon=horizon)
        return self

    def _get_holdout(self, index: pd.DatetimeIndex, horizon: int) -> tuple[int, np.ndarray, bool]:
        """The first held-out row, the origins forecast from it, and whether they are
        whole days' midnights.

        A forecast of a day or more is what a commuter service issues at night for
        tomorrow, so it is chosen on whole held-out days forecast from their local
        midnights (at least ``MIN_HOLDOUT_DAYS``); shorter horizons on every held-out row.
        """
        split = int(len(index) * (1 - self.holdout_fraction))
        every_row = get_holdout_origins(len(index), split, input_steps=self.input_steps)
        if self.calendar is None or horizon < get_slots_per_day(index):
            return split, every_row, False
        local = index.tz_convert(self.calendar.tz)
        midnights = np.flatnonzero((local.hour == 0) & (local.minute == 0))
        days = max(MIN_HOLDOUT_DAYS, round(len(midnights) * self.holdout_fraction))
        origins = midnights[-days:]
        # the latest midnight starts a day the panel holds only in part, if at all
        if len(index) - origins[-1] < get_slots_per_day(index):
            origins = midnights[-days - 1 : -1]
        if len(origins) == 0 or origins[0] <= self.input_steps:
            return split, every_row, False
        return int(origins[0]), origins, True

    def predict(self, panel: pd.DataFrame, origins: np.ndarray, *, horizon: int) -> np.ndarray:
        """Each site's forecast, step by step from its group's chosen model."""
        names = self._get_step_models(list(panel.columns), horizon)
        forecasts = {
            model.name: model.predict(panel, origins, horizon=horizon)
            for model in self._get_chosen()
        }
        for name in np.unique(names):
            if PAIR in name:
                first, second = name.split(PAIR)
                forecasts[name] = (forecasts[first] + forecasts[second]) / 2
        return _assemble(forecasts, names)

    def predict_interval(
        self, panel: pd.DataFrame, origins: np.ndarray, *, horizon: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Point forecasts with p10/p90-style bounds, each (origins, horizon, sites)."""
        if self.bands is None:
            raise RuntimeError("fit before asking for intervals")
        forecasts = self.predict(panel, origins, horizon=horizon)
        if not self.recalibrate:
            lower, upper = self.bands.apply(forecasts)
        else:
            low, high = self._get_recent_quantiles(panel, np.asarray(origins))
            pick = np.minimum(np.arange(horizon), low.shape[1] - 1)
            scale = self.bands.scale[None, None, :]
            lower = forecasts + low[:, pick, None] * scale
            upper = forecasts + high[:, pick, None] * scale
        # Residual quantiles of a biased stretch can both lie on one side of zero; the
        # point forecast still belongs inside its own band.
        return forecasts, np.fmin(lower, forecasts), np.fmax(upper, forecasts)

    def get_site_models(self, site_ids: Sequence[str]) -> list[str]:
        """How each site is forecast: one model name, or models by step ('a 1-3, b 4-12')."""
        return [self.choice[self.site_groups[site]] for site in site_ids]

    def get_step_models(self, site_ids: Sequence[str], *, horizon: int) -> np.ndarray:
        """Name of the model behind each step and site: shape (horizon, sites)."""
        return self._get_step_models(list(site_ids), horizon)

    def _get_step_models(self, site_ids: list[str], horizon: int) -> np.ndarray:
        columns = [self.plan[self.site_groups[site]] for site in site_ids]
        # steps past the fitted horizon keep the last fitted step's model
        return np.array(
            [[plan[min(step, len(plan) - 1)] for plan in columns] for step in range(horizon)]
        ).reshape(horizon, len(site_ids))

    def _get_chosen(self) -> list[Forecaster]:
        names = {part for plan in self.plan.values() for name in plan for part in name.split(PAIR)}
        return [m for m in self.candidates if m.name in names]

    def _get_recent_quantiles(
        self, panel: pd.DataFrame, origins: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Band quantiles per origin and step from residuals known before each origin."""
        if self.bands is None:
            raise RuntimeError("fit before asking for intervals")
        steps = self.history_scaled.shape[1]
        history_origins, scaled = self.history_origins, self.history_scaled
        # Forecasts from rows after the fitted ones are out of sample for the refitted
        # models; their errors join the calibration once their outcome is known.
        newer = np.arange(self.fit_rows, int(origins.max()) if len(origins) else 0)
        if len(newer):
            truth = build_windows(panel.to_numpy(dtype=float), newer, steps)
            errors = truth - self.predict(panel, newer, horizon=steps)
            history_origins = np.concatenate([history_origins, newer])
            scaled = np.concatenate([scaled, errors / self.bands.scale[None, None, :]])
        low, high = compute_recent_quantiles(
            origins, history_origins, scaled, coverage=self.coverage, cells=self.calibration_cells
        )
        # too few known residuals (origins inside the held-out rows): the held-out bands
        low = np.where(np.isnan(low), self.bands.low[None, :], low)
        high = np.where(np.isnan(high), self.bands.high[None, :], high)
        return low, high


def _add_pair_means(residuals: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Residuals of the equal means of pairs of the three candidates with the lowest
    held-out RMSE.

    The mean's residual is the mean of the two residuals, so it costs no forecast.
    """
    if len(residuals) < 2:
        return {}
    rmse = {name: float(np.sqrt(np.nanmean(r**2))) for name, r in residuals.items()}
    best = sorted(rmse, key=rmse.__getitem__)[:3]
    return {
        f"{first}{PAIR}{second}": (residuals[first] + residuals[second]) / 2
        for i, first in enumerate(best)
        for second in best[i + 1 :]
    }


def describe_plan(plan: Sequence[str]) -> str:
    """Steps per model, 1-based: 'global_boost' or 'global_boost 1-23, seasonal_profile 24'."""
    runs: list[tuple[str, int, int]] = []
    for step, name in enumerate(plan, start=1):
        if runs and runs[-1][0] == name:
            runs[-1] = (name, runs[-1][1], step)
        else:
            runs.append((name, step, step))
    if len(runs) == 1:
        return runs[0][0]
    return ", ".join(f"{n} {a}" if a == b else f"{n} {a}-{b}" for n, a, b in runs)


def get_model_at_step(description: str, step: int) -> str:
    """The model a :func:`describe_plan` description uses at 1-based ``step``."""
    name = description
    for part in description.split(", "):
        if " " not in part:
            return part
        name, steps = part.rsplit(" ", 1)
        first, _, last = steps.partition("-")
        if int(first) <= step <= int(last or first):
            return name
    return name  # past the described steps: the last model


def _score_groups(residuals: dict[str, np.ndarray], group_of: np.ndarray) -> pd.DataFrame:
    """RMSE of every candidate in every group at every step over the held-out windows.

    Returns
    -------
    pandas.DataFrame
        Columns: group, step (1-based), model, rmse, n.
    """
    rows = []
    for name, residual in residuals.items():
        for group in np.unique(group_of):
            cells = residual[..., group_of == group]
            seen = ~np.isnan(cells)
            counts = seen.sum(axis=(0, 2))
            sums = np.where(seen, cells**2, 0.0).sum(axis=(0, 2))
            for step, (total, n) in enumerate(zip(sums, counts, strict=True), start=1):
                rmse = float(np.sqrt(total / n)) if n else float("inf")
                rows.append(
                    {"group": group, "step": step, "model": name, "rmse": rmse, "n": int(n)}
                )
    return pd.DataFrame(rows, columns=["group", "step", "model", "rmse", "n"])


def _pool_steps(scores: pd.DataFrame) -> pd.DataFrame:
    """Scores with every step given its group's RMSE over all steps (cells weighted)."""
    squared = scores.assign(total=scores["rmse"] ** 2 * scores["n"])
    pooled = squared.groupby(["group", "model"], sort=False)[["total", "n"]].sum()
    rmse = np.sqrt(pooled["total"] / pooled["n"].where(pooled["n"] > 0)).fillna(np.inf)
    return scores.drop(columns="rmse").join(rmse.rename("rmse"), on=["group", "model"])


def _choose_plan(scores: pd.DataFrame, horizon: int) -> dict[str, tuple[str, ...]]:
    """group -> the lowest-RMSE model at each step (ties go to the earlier candidate)."""
    best = scores.loc[scores.groupby(["group", "step"], sort=True)["rmse"].idxmin()]
    plan = {}
    for group, rows in best.groupby("group"):
        by_step = dict(zip(rows["step"], rows["model"], strict=True))
        plan[str(group)] = tuple(str(by_step[step]) for step in range(1, horizon + 1))
    return plan


def _assemble(arrays: Mapping[str, np.ndarray], names: np.ndarray) -> np.ndarray:
    """Cells (origins, step, site) taken from the array named in names[step, site]."""
    first = next(iter(arrays.values()))
    out = np.full(first.shape, np.nan)
    for name, values in arrays.items():
        mask = names == name
        out[:, mask] = values[:, mask]
    return out
