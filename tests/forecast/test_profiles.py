"""Period profiles and day types."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from urbanpulse.catalog.calendar import get_day_type, get_day_types
from urbanpulse.errors import InvalidQueryError, NotFoundError
from urbanpulse.forecast.profiles import PROFILE_COLUMNS, compute_profile, compute_profile_table
from urbanpulse.store import Lake, append_observations, build_engine

REGION = {"tz": "Asia/Shanghai", "country": "CN"}  # the synthetic series' calendar


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 10, 1), "holiday"),  # National Day
        (date(2026, 10, 7), "holiday"),  # Golden Week day off moved from a weekend
        (date(2026, 9, 20), "weekday"),  # a Sunday worked to make Golden Week longer
        (date(2026, 10, 10), "weekday"),  # a Saturday worked, likewise
        (date(2026, 10, 17), "weekend"),
        (date(2026, 10, 14), "weekday"),
    ],
)
def test_day_types_follow_chinas_official_calendar(day, expected):
    assert get_day_type(day) == expected


def test_day_types_use_the_local_date():
    # 2026-09-30 17:00 UTC is already 1 October (a holiday) in Beijing.
    stamps = pd.DatetimeIndex(
        [datetime(2026, 9, 30, 15, tzinfo=UTC), datetime(2026, 9, 30, 17, tzinfo=UTC)]
    )
    assert list(get_day_types(stamps)) == ["weekday", "holiday"]


def synthetic_series(days: int = 21) -> tuple[pd.Series, pd.Series]:
    """15-minute values: 100 at 08:00-09:00 local on weekdays, 10 otherwise."""
    start = datetime(2026, 9, 1, tzinfo=UTC) - timedelta(hours=8)  # local midnight
    ts = pd.Series(pd.date_range(start, periods=days * 96, freq="15min", tz="UTC"))
    local = ts.dt.tz_convert("Asia/Shanghai")
    types = get_day_types(ts)
    peak = (local.dt.hour == 8) & (types == "weekday")
    return ts, pd.Series(np.where(peak, 100.0, 10.0))


def test_profile_shows_the_weekday_peak_and_flat_weekends():
    ts, values = synthetic_series()
    table = compute_profile_table(ts, values, period_minutes=60, **REGION)
    assert list(table.columns) == PROFILE_COLUMNS
    weekday = table[table.day_type == "weekday"].set_index("period_label")
    weekend = table[table.day_type == "weekend"].set_index("period_label")
    assert weekday.loc["08:00", "mean"] == 100 and weekday.loc["07:00", "mean"] == 10
    assert weekend["p90"].max() == 10
    assert (table["p50"] <= table["p90"]).all()
    assert set(table["period_start"]) == set(range(0, 1440, 60))


def test_profile_from_the_lake_and_clear_errors(tmp_path):
    ts, values = synthetic_series(7)
    lake = Lake(tmp_path / "lake")
    append_observations(
        lake,
        pa.table(
            {
                "site_id": ["s"] * len(ts),
                "metric": ["boardings"] * len(ts),
                "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
                "value": values,
                "unit": ["passengers"] * len(ts),
            }
        ),
    )
    engine = build_engine("duckdb")
    table = compute_profile(lake, "s", "boardings", period_minutes=15, **REGION, engine=engine)
    assert len(table[table.day_type == "weekday"]) == 96
    with pytest.raises(NotFoundError):
        compute_profile(lake, "nowhere", "boardings", **REGION, engine=engine)
    with pytest.raises(InvalidQueryError):
        compute_profile(lake, "s", "boardings", period_minutes=7, **REGION, engine=engine)
