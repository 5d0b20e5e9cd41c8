"""Forecasting: models with one fit/predict protocol, backtests, metrics and profiles."""

from __future__ import annotations

from urbanpulse.forecast.backtest import (
    PROTOCOLS,
    BacktestResult,
    BacktestSpec,
    compute_backtest,
    get_protocol,
    run_backtest,
)
from urbanpulse.forecast.baselines import Persistence, RollingMean, SeasonalProfile, WeeklyNaive
from urbanpulse.forecast.day_ahead import DayAheadResult, compute_day_ahead
from urbanpulse.forecast.intervals import Conformal
from urbanpulse.forecast.learned import GlobalBoost
from urbanpulse.forecast.metrics import compute_coverage, compute_metrics
from urbanpulse.forecast.models import MODEL_NAMES, build_model, build_models
from urbanpulse.forecast.panel import compute_panel, read_panel
from urbanpulse.forecast.protocol import CalendarSpec, Forecaster
from urbanpulse.forecast.seasonal_boost import SeasonalBoost
from urbanpulse.forecast.selection import AutoSelect, compute_site_groups
from urbanpulse.forecast.service import forecast_site

__all__ = [
    "MODEL_NAMES",
    "PROTOCOLS",
    "AutoSelect",
    "BacktestResult",
    "BacktestSpec",
    "CalendarSpec",
    "Conformal",
    "DayAheadResult",
    "Forecaster",
    "GlobalBoost",
    "Persistence",
    "RollingMean",
    "SeasonalBoost",
    "SeasonalProfile",
    "WeeklyNaive",
    "build_model",
    "build_models",
    "compute_backtest",
    "compute_coverage",
    "compute_day_ahead",
    "compute_metrics",
    "compute_panel",
    "compute_site_groups",
    "forecast_site",
    "get_protocol",
    "read_panel",
    "run_backtest",
]
