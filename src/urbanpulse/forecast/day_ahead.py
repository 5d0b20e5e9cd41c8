"""Day-ahead backtests: forecasts issued at each local midnight for the whole next day.

This is how a commuter service uses a forecast: tonight, for tomorrow. Models are
fitted once on the days before ``test_start``; at each local midnight from then on
they forecast the next day from the rows before that midnight (so a test day's own
values never reach its forecast, but yesterday's do). Errors are summed over every
site and period of the test days, and the weekly seasonal naive (same slot one week
earlier) is run in the same call as the yardstick.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from urbanpulse.errors import InvalidQueryError
from urbanpulse.forecast.metrics import METRIC_NAMES, compute_coverage, compute_metrics
from urbanpulse.forecast.models import build_model
from urbanpulse.forecast.panel import build_windows
from urbanpulse.forecast.protocol import CalendarSpec, get_slots_per_day

BASELINE = "weekly_naive"
DAY_AHEAD_COLUMNS = [
    "model",
    *METRIC_NAMES,
    "n",
    "wape_vs_weekly_naive",
    "band_coverage",
    "fit_seconds",
]


@dataclass(slots=True)
class DayAheadResult:
    """Scores per model over all test days, and what ``auto`` chose."""

    scores: pd.DataFrame
    test_days: list[date]
    selection: dict[str, str] = field(default_factory=dict)


def get_midnight_origins(
    index: pd.DatetimeIndex, test_start: date, calendar: CalendarSpec
) -> np.ndarray:
    """Rows of each local midnight from ``test_start`` on (the first forecast rows)."""
    local = index.tz_convert(calendar.tz)
    first = pd.Timestamp(test_start).tz_localize(calendar.tz)
    midnight = (local.hour == 0) & (local.minute == 0) & (local >= first)
    return np.flatnonzero(midnight)


def compute_day_ahead(
    panel: pd.DataFrame,
    *,
    test_start: date,
    models: Sequence[str] = ("seasonal_profile", "auto"),
    calendar: CalendarSpec,
    input_steps: int = 12,
    progress: Callable[[str], None] | None = None,
) -> DayAheadResult:
    """Fit on the days before ``test_start``, forecast each later day from its midnight.

    Parameters
    ----------
    panel
        A regular panel (see :func:`~urbanpulse.forecast.panel.read_panel`) whose
        periods start on the local clock of ``calendar``.
    models
        Model names; the weekly naive is always run too, as the ratio is taken to it.
    calendar
        Time zone and holiday country of the sites (default: the settings').

    Returns
    -------
    DayAheadResult
        ``scores`` columns: model, rmse, mae, mape, wape, accuracy, r2, n (site-periods
        scored), wape_vs_weekly_naive, band_coverage (share of actual values inside
        the model's p10-p90 band, NaN for models without one), fit_seconds.
    """
    index = pd.DatetimeIndex(panel.index)
    origins = get_midnight_origins(index, test_start, calendar)
    if len(origins) == 0 or origins[0] <= input_steps:
        raise InvalidQueryError(f"no history before {test_start} or no midnight after it")
    horizon = get_slots_per_day(index)
    truth = build_windows(panel.to_numpy(dtype=float), origins, horizon)
    names = [BASELINE, *[m for m in models if m != BASELINE]]
    rows: list[dict[str, object]] = []
    selection: dict[str, str] = {}
    for name in names:
        if progress:
            progress(f"day ahead: {name}")
        model = build_model(name, calendar=calendar, input_steps=input_steps)
        started = time.perf_counter()
        model.fit(panel.iloc[: origins[0]], horizon=horizon)
        coverage = float("nan")
        if hasattr(model, "predict_interval"):
            forecast, low, high = model.predict_interval(panel, origins, horizon=horizon)
            coverage = compute_coverage(truth, low, high)
        else:
            forecast = model.predict(panel, origins, horizon=horizon)
        seconds = time.perf_counter() - started
        rows.append(
            {
                "model": model.name,
                **compute_metrics(truth, forecast),
                "band_coverage": coverage,
                "fit_seconds": seconds,
            }
        )
        selection |= dict(getattr(model, "choice", {}))
    scores = pd.DataFrame(rows)
    base = float(scores.loc[scores["model"] == BASELINE, "wape"].iloc[0])
    scores["wape_vs_weekly_naive"] = scores["wape"] / base
    scores["n"] = scores["n"].astype(int)
    days = [d.date() for d in index[origins].tz_convert(calendar.tz)]
    return DayAheadResult(scores[DAY_AHEAD_COLUMNS], days, selection)
