"""Weekly seasonality: the weekly naive, weekday profiles and features, and auto against it."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from urbanpulse.forecast import (
    CalendarSpec,
    SeasonalProfile,
    WeeklyNaive,
    build_model,
    compute_day_ahead,
    seasonal,
)
from urbanpulse.forecast.features import FeatureInputs, build_features
from urbanpulse.forecast.seasonal import PRIOR_DAYS, build_seasonal_table

UTC = CalendarSpec(tz="UTC", country="US")
DAY_COLUMNS = ["model", "rmse", "mae", "mape", "wape", "accuracy", "r2", "n"]


def build_weekly_panel(*, weeks: int = 5, sites: int = 3, noise: float = 2.0) -> pd.DataFrame:
    """Hourly sites whose daily peak depends on the day of the week (Monday 10 .. Sunday 70).

    Every weekday differs, so a day-type profile (weekday / weekend) blurs them and the
    same slot a week earlier is the best simple guess.
    """
    rng = np.random.default_rng(11)
    index = pd.date_range("2024-03-04", periods=weeks * 168, freq="h", tz="UTC", name="ts")
    peak = 10.0 + 10.0 * index.dayofweek.to_numpy()
    shape = np.exp(-(((index.hour.to_numpy() - 8) / 2.0) ** 2))
    columns = {
        f"s{i}": 20 + (1 + 0.5 * i) * peak * shape + rng.normal(0, noise, len(index))
        for i in range(sites)
    }
    return pd.DataFrame(columns, index=index)


def test_weekly_naive_repeats_the_slot_one_week_earlier() -> None:
    panel = build_weekly_panel(weeks=3, noise=0.0)
    values = panel.to_numpy()
    origin = np.array([2 * 168 + 5])
    forecast = WeeklyNaive().fit(panel, horizon=30).predict(panel, origin, horizon=30)
    expected = values[origin[0] - 168 : origin[0] - 168 + 30]
    assert np.array_equal(forecast[0], expected)


def test_weekly_naive_reaches_back_whole_weeks_and_over_gaps() -> None:
    panel = build_weekly_panel(weeks=4, noise=0.0)
    values = panel.to_numpy()
    gappy = panel.copy()
    gappy.iloc[2 * 168 + 3] = np.nan  # last week's slot missing: two weeks ago stands in
    origin = 3 * 168
    forecast = WeeklyNaive().predict(gappy, np.array([origin]), horizon=200)
    assert np.array_equal(forecast[0, 3], values[168 + 3])
    # more than a week ahead: two weeks back, still before the origin
    assert np.array_equal(forecast[0, 170], values[origin + 170 - 2 * 168])


def test_weekly_naive_falls_back_to_the_latest_value_without_a_week() -> None:
    panel = build_weekly_panel(weeks=1)
    forecast = WeeklyNaive().predict(panel, np.array([30]), horizon=4)
    assert np.array_equal(forecast[0], np.repeat(panel.iloc[[29]].to_numpy(), 4, axis=0))


def test_profile_uses_the_weekday_shrunk_toward_the_day_type() -> None:
    panel = build_weekly_panel(weeks=3, noise=0.0)
    table = build_seasonal_table(panel, UTC)
    monday_8 = pd.date_range("2024-03-25 08:00", periods=2, freq="h", tz="UTC")
    own = panel.iloc[8, 0]  # every Monday 08:00 is the same without noise
    weekdays = panel[(panel.index.dayofweek < 5) & (panel.index.hour == 8)].iloc[:, 0].mean()
    weight = 3 / (3 + PRIOR_DAYS)
    assert np.isclose(table.get_values(monday_8)[0, 0], weight * own + (1 - weight) * weekdays)
    # leaving a row out of its own weekday cell moves its value toward the others
    loo = table.get_loo_values(pd.DatetimeIndex(panel.index[8:10]), panel.to_numpy()[8:10])
    others = 2 / (2 + PRIOR_DAYS)  # two other Mondays, fourteen other weekdays
    other_weekdays = (15 * weekdays - own) / 14
    assert np.isclose(loo[0, 0], others * own + (1 - others) * other_weekdays)


def test_features_carry_the_weekday_and_the_slot_a_week_earlier() -> None:
    panel = build_weekly_panel(weeks=3)
    values = panel.to_numpy()
    inputs = FeatureInputs(
        last=values,
        profile=np.zeros_like(values),
        slot=panel.index.hour.to_numpy(),
        day_type=np.zeros(len(values), dtype=int),
        weekday=panel.index.dayofweek.to_numpy(),
        day_rows=24,
        neighbours=np.zeros((3, 0), dtype=int),
        site_mean=values.mean(axis=0),
        input_steps=12,
    )
    origins = np.array([2 * 168, 2 * 168 + 30])
    frame = build_features(inputs, origins, step=10)
    targets = origins - 1 + 10
    assert list(frame["weekday"]) == list(np.repeat(panel.index.dayofweek[targets], 3))
    week = values[targets - 168] - values[origins - 1]
    assert np.allclose(frame["week_lag"].to_numpy(), week.ravel())
    day = values[targets - 24] - values[origins - 1]
    assert np.allclose(frame["day_lag"].to_numpy(), day.ravel())
    # a day and a half ahead, the daily lag reaches back two days, never past the origin
    far = build_features(inputs, origins, step=36)
    rows = origins - 1 + 36 - 48
    assert (rows < origins).all()
    assert np.allclose(far["day_lag"], (values[rows] - values[origins - 1]).ravel())


def test_weekday_profile_beats_the_day_type_on_weekly_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    panel = build_weekly_panel()
    result = compute_day_ahead(
        panel, test_start=date(2024, 3, 25), models=["seasonal_profile"], calendar=UTC
    )
    assert list(result.scores.columns) == [
        *DAY_COLUMNS,
        "wape_vs_weekly_naive",
        "band_coverage",
        "fit_seconds",
    ]
    assert len(result.test_days) == 14 and result.test_days[0] == date(2024, 3, 25)
    with_weekdays = result.scores.set_index("model")["wape"]["seasonal_profile"]
    monkeypatch.setattr(seasonal, "PRIOR_DAYS", 1e12)  # weekdays drowned: day types only
    day_types = compute_day_ahead(
        panel, test_start=date(2024, 3, 25), models=["seasonal_profile"], calendar=UTC
    ).scores.set_index("model")["wape"]["seasonal_profile"]
    assert with_weekdays < 0.8 * day_types


def test_auto_never_loses_to_the_weekly_naive_where_weeks_dominate() -> None:
    panel = build_weekly_panel(weeks=6)
    auto = build_model("auto_simple", calendar=UTC, input_steps=6)
    auto.fit(panel.iloc[: 5 * 168], horizon=24)
    # a day ahead is chosen on whole held-out days: one model per group, whose error
    # over the held-out days is no worse than the weekly naive's
    squared = auto.scores.assign(total=auto.scores["rmse"] ** 2 * auto.scores["n"])
    pooled = squared.groupby(["group", "model"])[["total", "n"]].sum()
    rmse = np.sqrt(pooled["total"] / pooled["n"])
    for group, plan in auto.plan.items():
        assert len(set(plan)) == 1
        assert rmse[(group, plan[0])] <= rmse[(group, "weekly_naive")]
    # and on days it never saw, issued at midnight, it does no worse than the weekly naive
    result = compute_day_ahead(
        panel, test_start=date(2024, 4, 8), models=["auto_simple"], calendar=UTC, input_steps=6
    )
    wape = result.scores.set_index("model")["wape"]
    assert wape["auto"] <= wape["weekly_naive"]


def test_a_model_takes_its_calendar_from_the_caller() -> None:
    # No default read from the environment below the edges: the caller passes it down.
    with pytest.raises(TypeError, match="calendar"):
        SeasonalProfile()  # type: ignore[call-arg]
    kolkata = CalendarSpec(tz="Asia/Kolkata", country="IN")
    assert SeasonalProfile(calendar=kolkata).calendar == kolkata
