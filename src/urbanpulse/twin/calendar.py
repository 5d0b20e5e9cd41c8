"""The demo's calendar: which days are worked, which are weekends, which are holidays.

China moves working days around its public holidays: a long holiday is bought with a
weekend day worked before or after it. The ``holidays`` package names those swaps
("Day off (substituted from 09/20/2026)"), which is how the worked weekend days are found.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import holidays
import pandas as pd

DAY_TYPES: tuple[str, ...] = ("workday", "weekend", "holiday")
DEFAULT_END = date(2026, 10, 31)  # fixed so the demo is reproducible; 8 weeks hold Golden Week
TIMEZONE = "Asia/Shanghai"
_SWAP = re.compile(r"substituted from (\d{2})/(\d{2})/(\d{4})")


def get_period(end: date | None, weeks: int) -> tuple[date, date]:
    """First and last day (both local, inclusive) of ``weeks`` weeks ending on ``end``."""
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, not {weeks}")
    last = end or DEFAULT_END
    return last - timedelta(days=7 * weeks - 1), last


def build_calendar(first: date, last: date) -> pd.DataFrame:
    """Day types of every local day from ``first`` to ``last``.

    A weekend day inside a run of days off that holds a public holiday counts as a
    holiday (Golden Week is one block); a weekend day worked in exchange is a workday.

    Returns
    -------
    pandas.DataFrame
        Columns: date, weekday (0 = Monday), day_type (one of ``DAY_TYPES``),
        holiday_name (empty when none), worked_weekend (bool).
    """
    years = list(range(first.year - 1, last.year + 2))
    official = holidays.country_holidays("CN", years=years, language="en_US")
    worked = _get_worked_weekend_days(official)
    days = pd.date_range(first, last, freq="D").date
    off = [_is_day_off(d, official, worked) for d in days]
    rows = []
    for i, day in enumerate(days):
        # The block's first holiday names every day of it: Golden Week reads as one.
        name = _block_name(days, off, i, official) if off[i] else ""
        rows.append(
            {
                "date": day,
                "weekday": day.weekday(),
                "day_type": "holiday" if name else ("weekend" if off[i] else "workday"),
                "holiday_name": name,
                "worked_weekend": day in worked,
            }
        )
    return pd.DataFrame(rows)


def _get_worked_weekend_days(official: holidays.HolidayBase) -> set[date]:
    worked = set()
    for name in official.values():
        for month, day, year in _SWAP.findall(name):
            worked.add(datetime(int(year), int(month), int(day)).date())
    return worked


def _is_day_off(day: date, official: holidays.HolidayBase, worked: set[date]) -> bool:
    if day in official:
        return True
    return day.weekday() >= 5 and day not in worked


def _block_name(days: list[date], off: list[bool], i: int, official: holidays.HolidayBase) -> str:
    """Name of the first public holiday in the run of days off around day ``i``."""
    lo = hi = days[i]
    while _is_off_outside(lo - timedelta(days=1), days, off, official):
        lo -= timedelta(days=1)
    while _is_off_outside(hi + timedelta(days=1), days, off, official):
        hi += timedelta(days=1)
    names = [official[d] for d in pd.date_range(lo, hi, freq="D").date if d in official]
    return names[0] if names else ""


def _is_off_outside(
    day: date, days: list[date], off: list[bool], official: holidays.HolidayBase
) -> bool:
    """Whether ``day`` (possibly outside the period) is a day off."""
    if days[0] <= day <= days[-1]:
        return off[(day - days[0]).days]
    worked = _get_worked_weekend_days(official)
    return _is_day_off(day, official, worked)
