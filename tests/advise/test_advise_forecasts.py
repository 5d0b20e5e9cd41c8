"""Forecast tables read off period profiles, and their index."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from urbanpulse.advise import FORECAST_COLUMNS, build_forecast_lookup, compute_profile_forecast
from urbanpulse.errors import NotFoundError
from urbanpulse.forecast.protocol import CalendarSpec

CALENDAR = CalendarSpec(tz="Asia/Shanghai", country="CN")


def _profile() -> pd.DataFrame:
    starts = np.arange(0, 1440, 15)
    rows = []
    for day_type, level in (("weekday", 1.0), ("weekend", 0.5)):
        rows.append(
            pd.DataFrame(
                {"day_type": day_type, "period_start": starts,
                 "period_label": [f"{m // 60:02d}:{m % 60:02d}" for m in starts],
                 "mean": level * starts / 1440, "p50": level * starts / 1440,
                 "p90": level * starts / 1440 + 0.1, "n": 10}
            )
        )  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def test_profile_forecast_uses_the_day_type_of_each_slot() -> None:
    # Saturday 2026-11-07 23:45 then Monday 2026-11-09 08:00, local time.
    slots = pd.DatetimeIndex(["2026-11-07 23:45", "2026-11-09 08:00"], tz="Asia/Shanghai")
    table = compute_profile_forecast(
        _profile(), "x", slots, capacity=500.0, scale=2.0, calendar=CALENDAR
    )
    assert list(table.columns) == FORECAST_COLUMNS
    assert table["load"].tolist() == pytest.approx([2 * 0.5 * 1425 / 1440, 2 * 480 / 1440])
    assert table["load_p90"].tolist() == pytest.approx(
        [2 * (0.5 * 1425 / 1440 + 0.1), 2 * (480 / 1440 + 0.1)]
    )
    # p10 mirrors p90 about the median.
    assert table["load_p10"].tolist() == pytest.approx(
        [2 * (0.5 * 1425 / 1440 - 0.1), 2 * (480 / 1440 - 0.1)]
    )
    assert (table["capacity"] == 500.0).all()
    assert str(table["slot"].dt.tz) == "UTC"


def test_holiday_without_history_borrows_the_weekday() -> None:
    slots = pd.DatetimeIndex(["2026-10-01 08:00"], tz="Asia/Shanghai")  # National Day
    table = compute_profile_forecast(_profile(), "x", slots, capacity=1.0, calendar=CALENDAR)
    assert table["load"].iloc[0] == pytest.approx(480 / 1440)


def test_lookup_refuses_unknown_sites_and_slots() -> None:
    slots = pd.DatetimeIndex(["2026-11-09 08:00"], tz="Asia/Shanghai")
    lookup = build_forecast_lookup(
        compute_profile_forecast(_profile(), "x", slots, capacity=1.0, calendar=CALENDAR)
    )
    key = np.array([int(slots[0].timestamp())])
    assert lookup.get_values("x", key).shape == (4, 1)
    with pytest.raises(NotFoundError, match="'y'"):
        lookup.get_values("y", key)
    with pytest.raises(NotFoundError, match="no crowding forecast"):
        lookup.get_values("x", key + 900)


def test_profile_forecast_reads_periods_and_days_in_the_callers_calendar() -> None:
    from urbanpulse.forecast import CalendarSpec

    # 2026-01-26 is Republic Day in India, a plain Monday in China; 08:00 in Kolkata
    # is 02:30 UTC, a period that only a Kolkata calendar labels 08:00.
    slots = pd.DatetimeIndex(["2026-01-26 02:30"], tz="UTC")
    kolkata = CalendarSpec(tz="Asia/Kolkata", country="IN")
    table = compute_profile_forecast(_profile(), "x", slots, capacity=1.0, calendar=kolkata)
    assert table["load"].iloc[0] == pytest.approx(480 / 1440)  # holiday borrows the weekday
    shanghai = CalendarSpec(tz="Asia/Shanghai", country="CN")
    other = compute_profile_forecast(_profile(), "x", slots, capacity=1.0, calendar=shanghai)
    assert other["load"].iloc[0] == pytest.approx(630 / 1440)  # 10:30 in Shanghai


def test_a_period_never_observed_is_unknown_not_empty() -> None:
    # The profile holds no cell at 03:00 (a station closed at night): NaN, never 0.
    slots = pd.DatetimeIndex(["2026-11-02 03:00", "2026-11-02 08:00"], tz="Asia/Shanghai")
    profile = _profile()
    profile = profile[profile["period_start"] != 180]
    table = compute_profile_forecast(profile, "x", slots, capacity=500.0, calendar=CALENDAR)
    assert table["load"].isna().tolist() == [True, False]
    assert table["load_p90"].isna().tolist() == [True, False]
