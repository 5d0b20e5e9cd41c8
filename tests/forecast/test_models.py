"""Every model keeps the fit/predict protocol; baselines are exact; bands cover as promised."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from urbanpulse.errors import InvalidQueryError
from urbanpulse.forecast import (
    AutoSelect,
    CalendarSpec,
    Conformal,
    Forecaster,
    GlobalBoost,
    Persistence,
    RollingMean,
    SeasonalBoost,
    SeasonalProfile,
    WeeklyNaive,
    build_model,
    compute_metrics,
    compute_panel,
    compute_site_groups,
)
from urbanpulse.forecast.learned import get_anchor_steps
from urbanpulse.forecast.panel import build_windows

Panel = Callable[..., pd.DataFrame]
# The calendar the synthetic panels are read on (the region's, as the settings default).
CALENDAR = CalendarSpec(tz="Asia/Shanghai", country="CN")


def small_boost() -> GlobalBoost:
    return GlobalBoost(calendar=CALENDAR, input_steps=24, neighbours=2, max_rows=4000, rounds=40)


def build_every_model() -> list[Forecaster]:
    """One of each forecaster, small enough to fit in a test."""
    return [
        Persistence(),
        RollingMean(window=4),
        WeeklyNaive(),
        SeasonalProfile(calendar=CALENDAR),
        small_boost(),
        SeasonalBoost(calendar=CALENDAR, max_rows=4000, rounds=20),
    ]


@pytest.mark.parametrize("model", build_every_model(), ids=lambda m: m.name)
@pytest.mark.parametrize("horizon", [1, 5, 24])
def test_models_keep_the_protocol(daily_panel: Panel, model: Forecaster, horizon: int) -> None:
    panel = daily_panel(days=10)
    assert isinstance(model, Forecaster)
    model.fit(panel.iloc[:200], horizon=horizon)
    origins = np.array([200, 210, len(panel)])  # the last one forecasts past the end
    forecast = model.predict(panel, origins, horizon=horizon)
    assert forecast.shape == (3, horizon, panel.shape[1])
    assert np.isfinite(forecast).all()


def test_models_read_nothing_at_or_after_the_origin(daily_panel: Panel) -> None:
    panel = daily_panel(days=10)
    spoiled = panel.copy()
    spoiled.iloc[220:] = 1e6
    for model in build_every_model():
        model.fit(panel.iloc[:200], horizon=6)
        clean = model.predict(panel, np.array([220]), horizon=6)
        assert np.allclose(clean, model.predict(spoiled, np.array([220]), horizon=6)), model.name


def test_persistence_repeats_the_last_known_value() -> None:
    panel = compute_panel(
        pd.DataFrame(
            {
                "site_id": "a",
                "ts": pd.date_range("2024-01-01", periods=5, freq="h", tz="UTC"),
                "value": [1.0, 2.0, 3.0, np.nan, 5.0],
            }
        ),
        period_minutes=60,
        tz="UTC",
    )
    forecast = Persistence().fit(panel, horizon=3).predict(panel, np.array([3, 4, 5]), horizon=3)
    assert forecast[:, :, 0].tolist() == [[3.0] * 3, [3.0] * 3, [5.0] * 3]  # carried over the gap


def test_rolling_mean_rolls_over_its_own_forecasts() -> None:
    panel = pd.DataFrame(
        {"a": [1.0, 2.0, 3.0]}, index=pd.date_range("2024-01-01", periods=3, freq="h", tz="UTC")
    )
    forecast = RollingMean(window=3).predict(panel, np.array([3]), horizon=3)[0, :, 0]
    assert forecast.tolist() == pytest.approx([2.0, (2 + 3 + 2) / 3, (3 + 2 + 7 / 3) / 3])


@settings(max_examples=25, deadline=None)
@given(st.floats(-1e3, 1e3, allow_nan=False), st.integers(1, 12))
def test_persistence_error_is_zero_on_a_constant_series(level: float, horizon: int) -> None:
    panel = pd.DataFrame(
        {"a": np.full(40, level)},
        index=pd.date_range("2024-01-01", periods=40, freq="5min", tz="UTC"),
    )
    origins = np.arange(1, 40 - horizon)
    forecast = Persistence().predict(panel, origins, horizon=horizon)
    assert compute_metrics(build_windows(panel.to_numpy(), origins, horizon), forecast)["rmse"] == 0


def test_seasonal_profile_recovers_the_daily_cycle(daily_panel: Panel) -> None:
    panel = daily_panel(days=14, noise=0.0)
    model = SeasonalProfile(calendar=CalendarSpec(tz="UTC", country="US")).fit(
        panel.iloc[: 24 * 10], horizon=24
    )
    forecast = model.predict(panel, np.array([24 * 11]), horizon=24)
    assert np.allclose(forecast[0], panel.iloc[24 * 11 : 24 * 12].to_numpy())


def test_global_boost_beats_persistence_a_day_ahead(daily_panel: Panel) -> None:
    panel = daily_panel(days=21, noise=1.0)
    origins = np.arange(24 * 17, 24 * 20)
    truth = build_windows(panel.to_numpy(), origins, 12)
    scores = {}
    for model in (Persistence(), small_boost()):
        model.fit(panel.iloc[: 24 * 17], horizon=12)
        scores[model.name] = compute_metrics(truth, model.predict(panel, origins, horizon=12))[
            "rmse"
        ]
    assert scores["global_boost"] < 0.5 * scores["persistence"]


def test_anchor_steps_cover_the_horizon_ends() -> None:
    assert get_anchor_steps(12)[:6] == [1, 2, 3, 4, 5, 6] and get_anchor_steps(12)[-1] == 12
    assert get_anchor_steps(288)[-1] == 288 and len(get_anchor_steps(288)) < 30
    assert get_anchor_steps(1) == [1]


def test_conformal_band_covers_close_to_nominal_on_noise() -> None:
    rng = np.random.default_rng(3)
    index = pd.date_range("2024-01-01", periods=6000, freq="h", tz="UTC")
    panel = pd.DataFrame(
        {f"s{i}": 10 + rng.normal(0, 1 + i, len(index)) for i in range(4)}, index=index
    )
    model = Conformal(RollingMean(window=24), input_steps=24).fit(panel.iloc[:3000], horizon=3)
    origins = np.arange(3000, 5990)
    _, low, high = model.predict_interval(panel, origins, horizon=3)
    truth = build_windows(panel.to_numpy(), origins, 3)
    inside = (truth >= low) & (truth <= high)
    assert inside.mean() == pytest.approx(0.8, abs=0.03)
    assert inside[..., 3].mean() == pytest.approx(
        0.8, abs=0.05
    )  # per-site scale: the noisiest site too


def test_auto_select_picks_the_profile_for_a_clean_cycle(daily_panel: Panel) -> None:
    panel = daily_panel(days=14, noise=0.1)
    candidates = [
        Persistence(),
        RollingMean(window=6),
        SeasonalProfile(calendar=CalendarSpec(tz="UTC", country="US")),
    ]
    model = AutoSelect(candidates, input_steps=6).fit(panel, horizon=12)
    assert set(model.choice.values()) == {"seasonal_profile"}
    assert list(model.scores.columns) == ["group", "step", "model", "rmse", "n"]
    forecast, low, high = model.predict_interval(panel, np.array([len(panel)]), horizon=12)
    assert (low <= forecast).all() and (forecast <= high).all()
    assert model.get_site_models(["s0"]) == ["seasonal_profile"]


def test_site_groups_split_by_change(daily_panel: Panel) -> None:
    groups = compute_site_groups(daily_panel(sites=8), n_groups=4)
    assert sorted(set(groups.values())) == ["change_q1", "change_q2", "change_q3", "change_q4"]
    assert groups["s0"] == "change_q1" and groups["s7"] == "change_q4"  # amplitude grows with i
    assert set(compute_site_groups(daily_panel(sites=3)).values()) == {"all"}


def test_compute_panel_resamples_to_period_means() -> None:
    ts = pd.date_range("2024-01-01", periods=12, freq="5min", tz="UTC")
    panel = compute_panel(
        pd.DataFrame({"site_id": "a", "ts": ts, "value": np.arange(12.0)}),
        period_minutes=15,
        tz="UTC",
    )
    assert list(panel.columns) == ["a"] and panel.index.name == "ts"
    assert panel["a"].tolist() == [1.0, 4.0, 7.0, 10.0]
    with pytest.raises(InvalidQueryError):
        compute_panel(
            pd.DataFrame({"site_id": "a", "ts": ts, "value": 1.0}), period_minutes=7, tz="UTC"
        )


def test_unknown_model_names_say_what_exists() -> None:
    with pytest.raises(InvalidQueryError, match="persistence"):
        build_model("prophet", calendar=CALENDAR)


def test_recent_days_averages_the_latest_days_of_the_same_type_before_the_origin() -> None:
    from urbanpulse.forecast.baselines import RecentDays

    # three weeks from Monday 2024-03-04, no US holiday among them
    index = pd.date_range("2024-03-04", periods=21 * 24, freq="h", tz="UTC", name="ts")
    # each day's value is its day number, so a mean of days names the days averaged
    panel = pd.DataFrame({"s": np.repeat(np.arange(21.0), 24)}, index=index)
    model = RecentDays(calendar=CalendarSpec(tz="UTC", country="US"), days=5)
    model.fit(panel.iloc[: 14 * 24], horizon=24)
    # Monday 18 March (day 14) from its midnight: the five weekdays before it
    monday = model.predict(panel, np.array([14 * 24]), horizon=24)
    assert monday[0, :, 0] == pytest.approx(np.full(24, np.mean([11, 10, 9, 8, 7])))
    # Saturday 23 March (day 19): the weekend days within three weeks, four of them
    saturday = model.predict(panel, np.array([19 * 24]), horizon=24)
    assert saturday[0, 0, 0] == pytest.approx(np.mean([13, 12, 6, 5]))
    # from Monday noon: Monday's own noon is never read, Tuesday may read Monday
    noon = model.predict(panel, np.array([14 * 24 + 12]), horizon=24)
    assert noon[0, 0, 0] == pytest.approx(np.mean([11, 10, 9, 8, 7]))
    assert noon[0, 12, 0] == pytest.approx(np.mean([14, 11, 10, 9, 8]))
