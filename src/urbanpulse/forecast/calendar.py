"""Day types: weekday, weekend or public holiday, by a country's official calendar.

China moves working days around its Golden Weeks (a Saturday or Sunday can be a working
day, a Wednesday a day off), so "weekend" is decided by the calendar, not by weekday
number alone.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays
import numpy as np
import pandas as pd

DAY_TYPES = ("weekday", "weekend", "holiday")


@lru_cache(maxsize=32)
def _calendar(country: str, first_year: int, last_year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=range(first_year, last_year + 1))


def get_day_type(day: date, *, country: str = "CN") -> str:
    """Day type of one local calendar date."""
    calendar = _calendar(country, day.year, day.year)
    if day in calendar:
        return "holiday"
    if day.weekday() < 5 or day in getattr(calendar, "weekend_workdays", set()):
        return "weekday"
    return "weekend"


def get_day_types(
    timestamps: pd.Series | pd.DatetimeIndex, *, tz: str = "Asia/Shanghai", country: str = "CN"
) -> np.ndarray:
    """Day type of each timestamp, judged on the local date in ``tz``.

    Returns
    -------
    numpy.ndarray
        Strings 'weekday', 'weekend' or 'holiday', one per timestamp.
    """
    local = pd.DatetimeIndex(timestamps).tz_convert(tz)
    dates = local.normalize().tz_localize(None)
    unique = dates.unique()
    if len(unique) == 0:
        return np.array([], dtype=object)
    types = {d: get_day_type(d.date(), country=country) for d in unique}
    return np.asarray(dates.map(types), dtype=object)
