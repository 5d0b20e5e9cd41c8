"""The demo's period and calendar (the official one, see urbanpulse.catalog.calendar)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from urbanpulse.catalog.calendar import build_calendar as build_official_calendar

DAY_TYPES: tuple[str, ...] = ("workday", "weekend", "holiday")
DEFAULT_END = date(2026, 10, 31)  # fixed so the demo is reproducible; 8 weeks hold Golden Week
TIMEZONE = "Asia/Shanghai"
COUNTRY = "CN"  # the demo cluster lies in Beijing, Tianjin and Hebei, whatever the settings


def get_period(end: date | None, weeks: int) -> tuple[date, date]:
    """First and last day (both local, inclusive) of ``weeks`` weeks ending on ``end``."""
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, not {weeks}")
    last = end or DEFAULT_END
    return last - timedelta(days=7 * weeks - 1), last


def build_calendar(first: date, last: date) -> pd.DataFrame:
    """Day types of every local day from ``first`` to ``last``, by the official
    calendar (:func:`urbanpulse.catalog.calendar.build_calendar`), with the demo's
    name for a working day.

    Returns
    -------
    pandas.DataFrame
        Columns: date, weekday (0 = Monday), day_type (one of ``DAY_TYPES``),
        holiday_name (empty when none), worked_weekend (bool).
    """
    table = build_official_calendar(first, last)
    table["day_type"] = table["day_type"].replace({"weekday": "workday"})
    return table
