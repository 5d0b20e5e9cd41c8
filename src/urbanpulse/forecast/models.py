"""Model names and how to build them, so backtests, the CLI and the API agree."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from urbanpulse.errors import InvalidQueryError
from urbanpulse.forecast.baselines import (
    Persistence,
    RecentDays,
    RollingMean,
    SeasonalProfile,
    WeeklyNaive,
)
from urbanpulse.forecast.learned import GlobalBoost
from urbanpulse.forecast.protocol import CalendarSpec, Forecaster
from urbanpulse.forecast.seasonal_boost import SeasonalBoost
from urbanpulse.forecast.selection import AutoSelect

MODEL_NAMES = (
    "persistence",
    "rolling_mean",
    "weekly_naive",
    "seasonal_profile",
    "recent_days",
    "global_boost",
    "seasonal_boost",
    "auto",
    "auto_simple",
)


def build_model(
    name: str,
    *,
    calendar: CalendarSpec,
    input_steps: int = 12,
    coverage: float = 0.8,
    adjacency: pd.DataFrame | None = None,
) -> Forecaster:
    """A fresh, unfitted model by name.

    ``auto`` selects per site group and step among persistence, rolling mean, weekly
    naive, seasonal profile and the global LightGBM model on held-out rows, so it never
    keeps a model that did worse there than the best simple baseline; ``auto_simple``
    leaves the learned model out (cheap enough for one site on request). ``calendar``
    is the sites' time zone and holiday country (the settings').
    """
    if name == "persistence":
        return Persistence()
    if name == "rolling_mean":
        return RollingMean(window=input_steps)
    if name == "weekly_naive":
        return WeeklyNaive()
    if name == "seasonal_profile":
        return SeasonalProfile(calendar=calendar)
    if name == "recent_days":
        return RecentDays(calendar=calendar)
    if name == "global_boost":
        return GlobalBoost(calendar=calendar, input_steps=input_steps, adjacency=adjacency)
    if name == "seasonal_boost":
        return SeasonalBoost(calendar=calendar)
    if name in ("auto", "auto_simple"):
        simple = [
            "persistence",
            "rolling_mean",
            "weekly_naive",
            "seasonal_profile",
            "recent_days",
        ]
        names = simple if name == "auto_simple" else [*simple, "global_boost", "seasonal_boost"]
        candidates = [
            build_model(n, calendar=calendar, input_steps=input_steps, adjacency=adjacency)
            for n in names
        ]
        return AutoSelect(candidates, coverage=coverage, input_steps=input_steps, calendar=calendar)
    raise InvalidQueryError(f"unknown model {name!r}; use one of {', '.join(MODEL_NAMES)}")


def build_models(names: Sequence[str], **options: object) -> list[Forecaster]:
    """Fresh models by name (see :func:`build_model` for the options)."""
    return [build_model(name, **options) for name in names]  # type: ignore[arg-type]
