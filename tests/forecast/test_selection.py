"""auto chooses per site group and horizon step; its bands cover as promised on new rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from urbanpulse.forecast import AutoSelect, CalendarSpec, Persistence, RollingMean, SeasonalProfile
from urbanpulse.forecast.panel import build_windows
from urbanpulse.forecast.selection import describe_plan, get_model_at_step

UTC = CalendarSpec(tz="UTC", country="US")
PAIR_OF_BOTH = "seasonal_profile+persistence"


def build_cycle_with_drift(*, days: int = 60, sites: int = 2, seed: int = 0) -> pd.DataFrame:
    """Hourly daily cycle plus a slowly fading AR(1) deviation.

    The deviation makes the latest value the best guess for the next hour or two, the
    cycle makes the usual value for the hour the best guess half a day ahead.
    """
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=days * 24, freq="h", tz="UTC", name="ts")
    cycle = 10 * np.sin(2 * np.pi * index.hour.to_numpy() / 24)
    deviation = np.zeros((len(index), sites))
    shocks = rng.normal(0, 1, deviation.shape)
    for row in range(1, len(index)):
        deviation[row] = 0.95 * deviation[row - 1] + shocks[row]
    values = 50 + cycle[:, None] + deviation
    return pd.DataFrame(values, index=index, columns=[f"s{i}" for i in range(sites)])


def build_noise(rows: int, *, scales: tuple[float, ...], seed: int = 3) -> pd.DataFrame:
    """Independent Gaussian noise around 10 per site, one scale per site."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=rows, freq="h", tz="UTC", name="ts")
    return pd.DataFrame(
        {f"s{i}": 10 + rng.normal(0, s, rows) for i, s in enumerate(scales)}, index=index
    )


def compute_inside(model: AutoSelect, panel: pd.DataFrame, origins: np.ndarray) -> np.ndarray:
    """Whether each (origin, step, site) truth fell inside the model's band."""
    horizon = model.history_scaled.shape[1]
    _, low, high = model.predict_interval(panel, origins, horizon=horizon)
    truth = build_windows(panel.to_numpy(), origins, horizon)
    return (truth >= low) & (truth <= high)


def test_selection_picks_persistence_near_and_the_profile_far() -> None:
    panel = build_cycle_with_drift()
    model = AutoSelect([Persistence(), SeasonalProfile(calendar=UTC)], input_steps=6)
    model.fit(panel, horizon=12)
    plan = model.plan["all"]
    # of the two, the latest value wins the next hour and the profile half a day ahead;
    # their mean may beat both in between (and even at the ends: the drift fades slowly)
    single = model.scores[model.scores["model"] != PAIR_OF_BOTH]
    best_single = single.loc[single.groupby("step")["rmse"].idxmin(), "model"].tolist()
    assert best_single[0] == "persistence" and best_single[-1] == "seasonal_profile"
    assert set(plan) <= {"persistence", "seasonal_profile", PAIR_OF_BOTH}
    assert "persistence" in plan[0] and "seasonal_profile" in plan[-1]
    description = model.get_site_models(["s0"])[0]
    assert description.endswith("-12")
    # on the held-out rows the chosen model is never worse than any candidate, step by step
    best = model.scores.groupby("step")["rmse"].min()
    chosen = model.scores.set_index(["step", "model"])["rmse"]
    assert all(chosen[(s, name)] == best[s] for s, name in enumerate(plan, start=1))
    # and forecasts follow the plan: persistence first, the profile at the far end
    origin = np.array([len(panel)])
    forecast = model.predict(panel, origin, horizon=12)
    profile = model.candidates[1].predict(panel, origin, horizon=12)[0]
    latest = np.broadcast_to(panel.iloc[-1].to_numpy(), profile.shape)
    by_name = {"persistence": latest, "seasonal_profile": profile}
    by_name[PAIR_OF_BOTH] = (latest + profile) / 2
    for step, name in enumerate(plan):
        assert np.allclose(forecast[0, step], by_name[name][step])
    steps = model.get_step_models(["s0", "s1"], horizon=12)
    assert steps.shape == (12, 2) and list(steps[:, 0]) == list(plan)


def test_plan_descriptions_read_back_step_by_step() -> None:
    plan = ("persistence", "persistence", "global_boost", "seasonal_profile")
    description = describe_plan(plan)
    assert description == "persistence 1-2, global_boost 3, seasonal_profile 4"
    assert [get_model_at_step(description, s) for s in range(1, 5)] == list(plan)
    assert get_model_at_step(description, 9) == "seasonal_profile"  # past the plan: the last
    assert describe_plan(("global_boost",) * 3) == "global_boost"
    assert get_model_at_step("global_boost", 7) == "global_boost"


@pytest.mark.parametrize("recalibrate", [True, False])
def test_bands_cover_close_to_nominal_on_fresh_noise(recalibrate: bool) -> None:
    panel = build_noise(6000, scales=(1.0, 2.0, 3.0, 4.0))
    candidates = [Persistence(), RollingMean(window=24)]
    model = AutoSelect(candidates, input_steps=24, recalibrate=recalibrate)
    model.fit(panel.iloc[:3000], horizon=3)
    inside = compute_inside(model, panel, np.arange(3000, 5990))
    assert model.plan["all"] == ("rolling_mean_24",) * 3
    assert inside.mean() == pytest.approx(0.8, abs=0.03)
    assert inside[..., 3].mean() == pytest.approx(0.8, abs=0.05)  # the noisiest site too


def test_recalibrated_bands_follow_a_change_in_spread() -> None:
    panel = build_noise(6000, scales=(1.0, 1.0))
    panel.iloc[3000:] = 10 + (panel.iloc[3000:] - 10) * 2  # twice as noisy after the fit
    candidates = [RollingMean(window=24)]
    fixed = AutoSelect(candidates, input_steps=24, recalibrate=False).fit(
        panel.iloc[:3000], horizon=3
    )
    origins = np.arange(4000, 5990)
    held_out = compute_inside(fixed, panel, origins).mean()
    moving = AutoSelect(candidates, input_steps=24, calibration_cells=2000)
    recalibrated = compute_inside(moving.fit(panel.iloc[:3000], horizon=3), panel, origins)
    assert held_out < 0.6
    assert recalibrated.mean() == pytest.approx(0.8, abs=0.03)


def test_bands_read_nothing_at_or_after_the_origin() -> None:
    panel = build_cycle_with_drift(days=30)
    model = AutoSelect([Persistence(), SeasonalProfile(calendar=UTC)], input_steps=6)
    model.fit(panel.iloc[:500], horizon=6)
    spoiled = panel.copy()
    spoiled.iloc[620:] = 1e6
    clean = model.predict_interval(panel, np.array([600, 620]), horizon=6)
    dirty = model.predict_interval(spoiled, np.array([600, 620]), horizon=6)
    for a, b in zip(clean, dirty, strict=True):
        assert np.allclose(a, b)


def build_two_signals(*, days: int = 28, seed: int = 5) -> pd.DataFrame:
    """A site that is the mean of two independent noisy signals' shared truth.

    Each of two "models" below sees the truth plus its own noise, so the mean of the
    two is closer to the truth than either: the pair must win selection.
    """
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=days * 24, freq="h", tz="UTC", name="ts")
    truth = 50 + 10 * np.sin(2 * np.pi * index.hour.to_numpy() / 24)
    return pd.DataFrame({"s0": truth + rng.normal(0, 0.1, len(index))}, index=index)


class NoisyTruth:
    """A stand-in forecaster: the truth plus its own fixed noise (for selection tests)."""

    def __init__(self, name: str, seed: int) -> None:
        self.name = name
        self.seed = seed

    def fit(self, panel: pd.DataFrame, *, horizon: int) -> NoisyTruth:
        return self

    def predict(self, panel: pd.DataFrame, origins: np.ndarray, *, horizon: int) -> np.ndarray:
        truth = build_windows(panel.to_numpy(dtype=float), np.asarray(origins), horizon)
        noise = np.random.default_rng(self.seed).normal(0, 3, truth.shape)
        return np.nan_to_num(truth, nan=50.0) + noise


def test_the_mean_of_two_candidates_that_err_differently_is_chosen() -> None:
    panel = build_two_signals()
    model = AutoSelect([NoisyTruth("a", 1), NoisyTruth("b", 2)], input_steps=6, calendar=UTC)
    model.fit(panel, horizon=24)
    assert set(model.plan["all"]) == {"a+b"}
    forecast = model.predict(panel, np.array([24 * 20]), horizon=24)
    a = NoisyTruth("a", 1).predict(panel, np.array([24 * 20]), horizon=24)
    b = NoisyTruth("b", 2).predict(panel, np.array([24 * 20]), horizon=24)
    np.testing.assert_allclose(forecast, (a + b) / 2)


def test_a_day_ahead_is_chosen_on_whole_days_from_local_midnight() -> None:
    panel = build_cycle_with_drift(days=30, sites=1)
    shanghai = CalendarSpec(tz="Asia/Shanghai", country="CN")
    model = AutoSelect([Persistence(), SeasonalProfile(calendar=shanghai)], calendar=shanghai)
    model.fit(panel, horizon=24)
    local = pd.DatetimeIndex(panel.index[model.history_origins]).tz_convert("Asia/Shanghai")
    assert len(local) >= 3 and (local.hour == 0).all() and (local.minute == 0).all()
    # one model for the whole day, not a different one per hour of a few held-out days
    assert len(set(model.plan["all"])) == 1
    # an hour ahead keeps choosing step by step from every held-out row
    hourly = AutoSelect([Persistence(), SeasonalProfile(calendar=shanghai)], calendar=shanghai)
    hourly.fit(panel, horizon=12)
    assert len(hourly.history_origins) > 24
