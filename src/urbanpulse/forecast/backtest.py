"""Backtests: fixed split or rolling origins, scored per horizon against persistence.

A backtest fits each model on the rows before a cut and forecasts windows after it, the
way the model would have been used. ``los-loop`` pins the published T-GCN protocol
(first 80 % of rows train, 12 input steps taken from the test rows, horizons 3/6/9/12,
errors over all steps up to the horizon, and the paper's window count, one short of
all possible windows), so our persistence figures can be checked against the paper's.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from urbanpulse.errors import InvalidQueryError
from urbanpulse.forecast.intervals import ResidualBands
from urbanpulse.forecast.metrics import METRIC_NAMES, compute_coverage, compute_metrics
from urbanpulse.forecast.models import build_models
from urbanpulse.forecast.panel import build_windows, get_period_minutes, read_panel
from urbanpulse.forecast.protocol import CalendarSpec, Forecaster
from urbanpulse.store import Lake
from urbanpulse.store.interface import Engine

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class BacktestSpec:
    """How to cut, forecast and score (see the module docstring for ``los-loop``)."""

    horizons: tuple[int, ...] = (1, 4)
    period_minutes: int = 15
    input_steps: int = 12
    train_fraction: float = 0.8
    mode: str = "fixed"  # "fixed" one cut; "rolling" refits at `folds` cuts
    folds: int = 3
    scoring: str = "at_step"  # "at_step": step h only; "cumulative": steps 1..h
    inputs_in_test: bool = False
    drop_last_window: bool = False
    stride: int = 1
    coverage: float = 0.8
    calendar: CalendarSpec | None = None  # the protocol's own; None: the caller's
    protocol: str = "custom"
    # "every_row": a forecast from every test row; "midnight": only from each local
    # midnight, as a service issues tomorrow's forecast tonight
    issue_at: str = "every_row"


PROTOCOLS: dict[str, BacktestSpec] = {
    "los-loop": BacktestSpec(
        horizons=(3, 6, 9, 12),
        period_minutes=5,
        scoring="cumulative",
        inputs_in_test=True,
        drop_last_window=True,
        calendar=CalendarSpec(tz="America/Los_Angeles", country="US"),
        protocol="los-loop",
    ),
    # Tonight for tomorrow: forecasts issued at each local midnight of the test days,
    # scored at the hours of the next day (hour 1, 6, 12 and 24 of it).
    "day-ahead": BacktestSpec(
        horizons=(1, 6, 12, 24),
        period_minutes=60,
        input_steps=24,
        mode="rolling",
        protocol="day-ahead",
        issue_at="midnight",
    ),
}


def get_protocol(name: str, **overrides: Any) -> BacktestSpec:
    """A named protocol with some fields replaced (``None`` values are ignored)."""
    if name not in PROTOCOLS and name != "custom":
        raise InvalidQueryError(
            f"unknown protocol {name!r}; use one of {sorted(PROTOCOLS)} or custom"
        )
    base = PROTOCOLS.get(name, BacktestSpec())
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


@dataclass(slots=True)
class BacktestResult:
    """Scores per model and horizon, timings, and what the selection chose."""

    spec: BacktestSpec
    metric: str
    sites: int
    scores: pd.DataFrame
    timings: pd.DataFrame
    selection: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view (NaN becomes None)."""
        scores = self.scores.astype(object).where(self.scores.notna(), None)
        return {
            "protocol": self.spec.protocol,
            "metric": self.metric,
            "sites": self.sites,
            "spec": asdict(self.spec),
            "scores": scores.to_dict(orient="records"),
            "timings": self.timings.to_dict(orient="records"),
            "selection": self.selection,
        }


def run_backtest(
    lake: Lake,
    metric: str,
    *,
    site_ids: Sequence[str] | None = None,
    spec: BacktestSpec | None = None,
    models: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    progress: Progress | None = None,
    calendar: CalendarSpec | None = None,
    engine: Engine,
) -> BacktestResult:
    """Backtest models on one metric of the lake, its panel read by ``engine``.

    Parameters
    ----------
    calendar
        The settings' time zone and holiday country; needed unless the protocol has
        its own (Los-loop does).
    spec
        Cuts, horizons and scoring; default the ``custom`` spec. See :data:`PROTOCOLS`.
    models
        Model names for :func:`~urbanpulse.forecast.models.build_models`; persistence is
        always run too, as every ratio is taken against it.
    """
    spec = spec or BacktestSpec()
    panel = read_panel(
        lake,
        metric,
        site_ids=site_ids,
        period_minutes=spec.period_minutes,
        start=start,
        end=end,
        tz=get_backtest_calendar(spec, calendar).tz,
        engine=engine,
    )
    return compute_backtest(
        panel, spec=spec, calendar=calendar, models=models, metric=metric, progress=progress
    )


def get_backtest_calendar(spec: BacktestSpec, calendar: CalendarSpec | None) -> CalendarSpec:
    """The protocol's own calendar, else the caller's; an error without either."""
    found = spec.calendar or calendar
    if found is None:
        raise InvalidQueryError(
            f"protocol {spec.protocol!r} has no calendar of its own: pass the settings' one"
        )
    return found


def compute_backtest(
    panel: pd.DataFrame,
    *,
    spec: BacktestSpec,
    calendar: CalendarSpec | None = None,
    models: Sequence[str] | None = None,
    metric: str = "",
    progress: Progress | None = None,
) -> BacktestResult:
    """Backtest on a panel (see :func:`run_backtest`); ``calendar`` serves unless the
    protocol has its own.

    Returns
    -------
    BacktestResult
        ``scores`` columns: model, horizon, horizon_minutes, rmse, mae, mape, wape,
        accuracy, r2, n, coverage (of the model's p10/p90 band, NaN without one),
        coverage_held_out (of the band calibrated once on held-out training rows, before
        any recalibration), rmse_vs_persistence. ``timings`` columns: model,
        fit_seconds, predict_seconds.
    """
    if get_period_minutes(pd.DatetimeIndex(panel.index)) != spec.period_minutes:
        raise InvalidQueryError("the panel's period differs from the spec's period_minutes")
    names = [
        "persistence",
        *[
            m
            for m in (models or ["rolling_mean", "seasonal_profile", "auto"])
            if m != "persistence"
        ],
    ]
    built = build_models(
        names,
        calendar=get_backtest_calendar(spec, calendar),
        input_steps=spec.input_steps,
        coverage=spec.coverage,
    )
    cuts = get_cuts(len(panel), spec)
    collected: dict[str, dict[int, list[tuple[np.ndarray, ...]]]] = {
        m.name: {h: [] for h in spec.horizons} for m in built
    }
    timings = {m.name: [0.0, 0.0] for m in built}
    selection: dict[str, dict[str, str]] = {}
    for fold, (cut, stop) in enumerate(cuts):
        for model in built:
            if progress:
                progress(f"fold {fold + 1}/{len(cuts)}: {model.name}")
            _run_fold(
                panel, model, cut, stop, spec, collected[model.name], timings[model.name],
                tz=get_backtest_calendar(spec, calendar).tz,
            )  # fmt: skip
            if hasattr(model, "choice"):
                selection[f"fold_{fold + 1}"] = dict(model.choice)
    scores = _build_scores(collected, spec)
    timing_rows = [
        {"model": n, "fit_seconds": round(t[0], 3), "predict_seconds": round(t[1], 3)}
        for n, t in timings.items()
    ]
    return BacktestResult(
        spec, metric, panel.shape[1], scores, pd.DataFrame(timing_rows), selection
    )


def get_cuts(rows: int, spec: BacktestSpec) -> list[tuple[int, int]]:
    """(first test row, end of test rows) per fold."""
    first = int(rows * spec.train_fraction)
    if first <= spec.input_steps or first >= rows:
        raise InvalidQueryError(
            f"{rows} rows cannot be split at train fraction {spec.train_fraction}"
        )
    if spec.mode == "fixed":
        return [(first, rows)]
    if spec.mode != "rolling":
        raise InvalidQueryError(f"mode must be 'fixed' or 'rolling', got {spec.mode!r}")
    edges = np.linspace(first, rows, spec.folds + 1).astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]


def get_origins(cut: int, stop: int, horizon: int, spec: BacktestSpec, rows: int) -> np.ndarray:
    """Origins scored at ``horizon`` in the test rows [cut, stop)."""
    first = max(cut + (spec.input_steps if spec.inputs_in_test else 0), spec.input_steps)
    last = min(stop, rows - horizon + 1) - (1 if spec.drop_last_window else 0)
    return np.arange(first, max(first, last), spec.stride)


def _run_fold(
    panel: pd.DataFrame,
    model: Forecaster,
    cut: int,
    stop: int,
    spec: BacktestSpec,
    collected: dict[int, list[tuple[np.ndarray, ...]]],
    timing: list[float],
    *,
    tz: str,
) -> None:
    horizon = max(spec.horizons)
    origins = get_origins(cut, stop, min(spec.horizons), spec, len(panel))
    if spec.issue_at == "midnight":
        local = pd.DatetimeIndex(panel.index[origins]).tz_convert(tz)
        origins = origins[(local.hour == 0) & (local.minute == 0)]
    if len(origins) == 0:
        return
    started = time.perf_counter()
    model.fit(panel.iloc[:cut], horizon=horizon)
    timing[0] += time.perf_counter() - started
    started = time.perf_counter()
    bands: tuple[np.ndarray, ...] = ()
    if hasattr(model, "predict_interval"):
        forecast, low, high = model.predict_interval(panel, origins, horizon=horizon)
        bands = (low, high)
    else:
        forecast = model.predict(panel, origins, horizon=horizon)
    timing[1] += time.perf_counter() - started
    held_out = getattr(model, "bands", None)
    if bands and isinstance(held_out, ResidualBands):
        bands += held_out.apply(forecast)
    truth = build_windows(panel.to_numpy(dtype=float), origins, horizon)
    for h in spec.horizons:
        keep = np.isin(origins, get_origins(cut, stop, h, spec, len(panel)))
        steps = slice(0, h) if spec.scoring == "cumulative" else slice(h - 1, h)
        collected[h].append(tuple(a[keep, steps] for a in (truth, forecast, *bands)))


def _build_scores(
    collected: dict[str, dict[int, list[tuple[np.ndarray, ...]]]], spec: BacktestSpec
) -> pd.DataFrame:
    rows = []
    for name, by_horizon in collected.items():
        for h, parts in by_horizon.items():
            arrays = [
                np.concatenate([p[i].ravel() for p in parts]) if parts else np.array([])
                for i in range(len(parts[0]) if parts else 2)
            ]
            row = {"model": name, "horizon": h, "horizon_minutes": h * spec.period_minutes}
            row |= compute_metrics(arrays[0], arrays[1])
            row["coverage"], row["coverage_held_out"] = (
                compute_coverage(arrays[0], *arrays[i : i + 2]) if len(arrays) > i else float("nan")
                for i in (2, 4)
            )
            rows.append(row)
    scores = pd.DataFrame(rows)
    base = scores[scores["model"] == "persistence"].set_index("horizon")["rmse"]
    scores["rmse_vs_persistence"] = scores["rmse"] / scores["horizon"].map(base)
    scores["n"] = scores["n"].astype(int)
    return scores[
        [
            "model",
            "horizon",
            "horizon_minutes",
            *METRIC_NAMES,
            "n",
            "coverage",
            "coverage_held_out",
            "rmse_vs_persistence",
        ]
    ]
