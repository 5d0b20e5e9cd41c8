"""The official calendar: which local days are worked, weekends or public holidays.

China moves working days around its public holidays: a long holiday is bought with a
weekend day worked before or after it (a Saturday or Sunday can be a working day), and
a weekend day inside a holiday run belongs to the holiday (Golden Week is one block).
The ``holidays`` package names the swaps ("Day off (substituted from 09/20/2026)"),
which is how the worked weekend days are found. One calendar serves the demo
generator, profiles and forecasts, so they agree on every day.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TypeVar

import holidays
import numpy as np
import pandas as pd

from urbanpulse.errors import InvalidQueryError

DAY_TYPES: tuple[str, ...] = ("weekday", "weekend", "holiday")
_SWAP = re.compile(r"substituted from (\d{2})/(\d{2})/(\d{4})")


def build_calendar(first: date, last: date, *, country: str = "CN") -> pd.DataFrame:
    """Day types of every local day from ``first`` to ``last``.

    Returns
    -------
    pandas.DataFrame
        Columns: date, weekday (0 = Monday), day_type (one of ``DAY_TYPES``),
        holiday_name (empty when none), worked_weekend (bool).
    """
    years = list(range(first.year - 1, last.year + 2))
    official = holidays.country_holidays(country, years=years, language="en_US")
    worked = _get_worked_weekend_days(official)
    days = list(pd.date_range(first, last, freq="D").date)
    off = [_is_day_off(d, official, worked) for d in days]
    rows = []
    for i, day in enumerate(days):
        # The block's first holiday names every day of it: Golden Week reads as one.
        name = _block_name(days, off, i, official, worked) if off[i] else ""
        rows.append(
            {
                "date": day,
                "weekday": day.weekday(),
                "day_type": "holiday" if name else ("weekend" if off[i] else "weekday"),
                "holiday_name": name,
                "worked_weekend": day in worked,
            }
        )
    return pd.DataFrame(rows)


def get_day_type(day: date, *, country: str = "CN") -> str:
    """Day type of one local calendar date."""
    return _get_year_types(country, day.year)[day]


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


@lru_cache(maxsize=64)
def _get_year_types(country: str, year: int) -> dict[date, str]:
    table = build_calendar(date(year, 1, 1), date(year, 12, 31), country=country)
    return dict(zip(table["date"], table["day_type"], strict=True))


def _get_worked_weekend_days(official: holidays.HolidayBase) -> set[date]:
    worked = set(getattr(official, "weekend_workdays", set()))
    for name in official.values():
        for month, day, year in _SWAP.findall(name):
            worked.add(datetime(int(year), int(month), int(day)).date())
    return worked


def _is_day_off(day: date, official: holidays.HolidayBase, worked: set[date]) -> bool:
    if day in official:
        return True
    return day.weekday() >= 5 and day not in worked


def _block_name(
    days: list[date], off: list[bool], i: int, official: holidays.HolidayBase, worked: set[date]
) -> str:
    """Name of the first public holiday in the run of days off around day ``i``."""

    def is_off(day: date) -> bool:
        if days[0] <= day <= days[-1]:
            return off[(day - days[0]).days]
        return _is_day_off(day, official, worked)

    lo = hi = days[i]
    while is_off(lo - timedelta(days=1)):
        lo -= timedelta(days=1)
    while is_off(hi + timedelta(days=1)):
        hi += timedelta(days=1)
    names = [official[d] for d in pd.date_range(lo, hi, freq="D").date if d in official]
    return names[0] if names else ""


# Times and days a request may name. Far wider than any data, yet narrow enough that
# every engine (pandas stops in 2262) and a shift by a day or a time zone stay valid.
EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(2199, 12, 31)
Moment = TypeVar("Moment", datetime, date)


def check_moment(moment: Moment | None, *, name: str) -> Moment | None:
    """The time or day as given; InvalidQueryError (400) outside 1970-01-01..2199-12-31.

    The bound applies to the date as written, so it never needs the time zone applied.
    """
    if moment is None:
        return None
    day = moment.date() if isinstance(moment, datetime) else moment
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise InvalidQueryError(
            f"{name} {moment.isoformat()} is out of range: times must fall between "
            f"{EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()}"
        )
    return moment
