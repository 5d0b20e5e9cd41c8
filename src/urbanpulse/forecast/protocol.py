"""The one protocol every forecasting model follows, and the calendar they share.

A model is fitted on a panel (rows: regular periods in UTC; columns: site ids) and then
asked for forecasts from *origins*: an origin is the integer row of the first forecast
step, so a model may read rows before it and nothing else. Asking for many origins at
once is what makes backtests over thousands of windows cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from urbanpulse.catalog.calendar import DAY_TYPES, get_day_types
from urbanpulse.forecast.panel import get_period_minutes
from urbanpulse.settings import Settings


@runtime_checkable
class Forecaster(Protocol):
    """Fit on a panel, forecast ``horizon`` steps from any origins."""

    name: str

    def fit(self, panel: pd.DataFrame, *, horizon: int) -> Forecaster:
        """Learn from every row of ``panel``; return self."""
        ...

    def predict(self, panel: pd.DataFrame, origins: np.ndarray, *, horizon: int) -> np.ndarray:
        """Forecasts of shape (len(origins), horizon, sites), using rows < origin only.

        ``panel`` has the fitted columns; an origin may equal ``len(panel)`` (forecast
        past the end).
        """
        ...


@dataclass(frozen=True, slots=True)
class CalendarSpec:
    """Where the sites are: the local time zone and the country whose holidays count.

    There are no defaults on purpose: the calendar comes from the caller's settings
    (:meth:`from_settings`), so a deployment in Kolkata never gets Shanghai's days.
    """

    tz: str
    country: str

    @classmethod
    def from_settings(cls, settings: Settings) -> CalendarSpec:
        """``local_timezone`` and ``holiday_country`` of ``settings``."""
        return cls(tz=settings.local_timezone, country=settings.holiday_country)


def compute_slots(index: pd.DatetimeIndex, spec: CalendarSpec) -> tuple[np.ndarray, np.ndarray]:
    """Period of the local day and day-type code (0 weekday, 1 weekend, 2 holiday) per row.

    Returns
    -------
    tuple of numpy.ndarray
        slot (int, 0 .. periods per day - 1) and day_type (int code into ``DAY_TYPES``).
    """
    period = get_period_minutes(index)
    local = index.tz_convert(spec.tz)
    slot = np.asarray((local.hour * 60 + local.minute) // period, dtype=int)
    names = get_day_types(index, tz=spec.tz, country=spec.country)
    codes = {name: i for i, name in enumerate(DAY_TYPES)}
    day_type = np.fromiter((codes[n] for n in names), dtype=int, count=len(names))
    return slot, day_type


def compute_weekdays(index: pd.DatetimeIndex, spec: CalendarSpec) -> np.ndarray:
    """Local day of the week per row (0 Monday .. 6 Sunday)."""
    return np.asarray(index.tz_convert(spec.tz).dayofweek, dtype=int)


def get_slots_per_day(index: pd.DatetimeIndex) -> int:
    """How many periods a local day holds at the panel's period."""
    return 1440 // get_period_minutes(index)
