"""Backtests: cuts, windows, the score table's columns, JSON, the command and forecast_site."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from urbanpulse.cli.forecast import forecast_app
from urbanpulse.errors import InvalidQueryError, NotFoundError
from urbanpulse.forecast import (
    BacktestSpec,
    compute_backtest,
    forecast_site,
    get_protocol,
    run_backtest,
)
from urbanpulse.forecast.backtest import get_cuts, get_origins
from urbanpulse.forecast.protocol import CalendarSpec
from urbanpulse.store import Lake, build_engine

# The calendar the synthetic data is read on (the region's, as the settings default).
CALENDAR = CalendarSpec(tz="Asia/Shanghai", country="CN")

Panel = Callable[..., pd.DataFrame]
SCORE_COLUMNS = [
    "model",
    "horizon",
    "horizon_minutes",
    "rmse",
    "mae",
    "mape",
    "wape",
    "accuracy",
    "r2",
    "n",
    "coverage",
    "coverage_held_out",
    "rmse_vs_persistence",
]


def test_fixed_backtest_scores_every_model_and_horizon(daily_panel: Panel) -> None:
    spec = BacktestSpec(horizons=(1, 6), period_minutes=60, input_steps=6)
    result = compute_backtest(
        daily_panel(days=14),
        spec=spec,
        calendar=CALENDAR,
        models=["rolling_mean", "seasonal_profile", "auto_simple"],
    )
    assert list(result.scores.columns) == SCORE_COLUMNS
    assert result.scores["model"].unique().tolist() == [
        "persistence",
        "rolling_mean_6",
        "seasonal_profile",
        "auto",
    ]
    persistence = result.scores[result.scores["model"] == "persistence"]
    assert (persistence["rmse_vs_persistence"] == 1).all()
    auto = result.scores[result.scores["model"] == "auto"]
    assert auto["coverage"].between(0.6, 0.95).all()
    assert list(result.timings.columns) == ["model", "fit_seconds", "predict_seconds"]
    json.dumps(result.to_dict())  # JSON-ready


def test_rolling_backtest_refits_per_fold(daily_panel: Panel) -> None:
    spec = BacktestSpec(horizons=(1,), period_minutes=60, input_steps=6, mode="rolling", folds=3)
    result = compute_backtest(
        daily_panel(days=14), spec=spec, calendar=CALENDAR, models=["auto_simple"]
    )
    assert list(result.selection) == ["fold_1", "fold_2", "fold_3"]
    assert get_cuts(100, spec) == [(80, 86), (86, 93), (93, 100)]


def test_los_loop_windows_follow_the_paper() -> None:
    spec = get_protocol("los-loop")
    # 404 test rows, 12 inputs, horizon 3: the paper keeps 404 - 12 - 3 windows
    origins = get_origins(1612, 2016, 3, spec, 2016)
    assert origins[0] == 1624 and len(origins) == 404 - 12 - 3
    assert get_protocol("los-loop", horizons=(1,)).horizons == (1,)
    with pytest.raises(InvalidQueryError):
        get_protocol("m4")


def test_bad_split_and_mode_are_refused() -> None:
    with pytest.raises(InvalidQueryError):
        get_cuts(10, BacktestSpec(train_fraction=0.5))
    with pytest.raises(InvalidQueryError, match="rolling"):
        get_cuts(100, BacktestSpec(mode="expanding"))


def test_run_backtest_reads_the_lake(synthetic_lake: Lake) -> None:
    spec = BacktestSpec(horizons=(1, 3), period_minutes=60, input_steps=6)
    result = run_backtest(
        synthetic_lake,
        "flow",
        site_ids=["s0", "s1"],
        spec=spec,
        models=["seasonal_profile"],
        calendar=CALENDAR,
        engine=build_engine("duckdb"),
    )
    assert result.sites == 2 and result.metric == "flow"
    assert set(result.scores["model"]) == {"persistence", "seasonal_profile"}


def test_backtest_command_prints_and_writes_json(synthetic_lake: Lake, tmp_path: Path) -> None:
    out = tmp_path / "scores.json"
    args = [
        "--lake",
        str(synthetic_lake.root),
        "--metric",
        "flow",
        "--period",
        "60",
        "--horizons",
        "1,3",
        "--mode",
        "fixed",
        "--models",
        "rolling_mean,auto_simple",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(forecast_app, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Backtest of flow" in result.output and "persistence" in result.output
    saved = json.loads(out.read_text())
    assert {row["model"] for row in saved["scores"]} == {"persistence", "rolling_mean_12", "auto"}


def test_forecast_site_returns_a_banded_forecast(synthetic_lake: Lake) -> None:
    start = pd.Timestamp("2024-03-20 00:00", tz="UTC")
    forecast = forecast_site(
        synthetic_lake, "s1", "flow", start=start, horizon=6, period_minutes=60, calendar=CALENDAR
    )
    assert list(forecast.columns) == ["ts", "yhat", "p10", "p90", "model"]
    assert len(forecast) == 6 and forecast["ts"].iloc[0] == start
    assert (forecast["p10"] <= forecast["yhat"]).all() and (
        forecast["yhat"] <= forecast["p90"]
    ).all()
    hours = forecast["ts"].dt.hour.to_numpy()
    expected = 50 + 10 * np.sin(2 * np.pi * hours / 24)  # site s1's cycle
    assert np.abs(forecast["yhat"].to_numpy() - expected).max() < 3


def test_forecast_site_names_missing_sites(synthetic_lake: Lake) -> None:
    with pytest.raises(NotFoundError, match="nowhere"):
        forecast_site(
            synthetic_lake, "nowhere", "flow", horizon=2, period_minutes=60, calendar=CALENDAR
        )


def test_the_day_ahead_protocol_issues_forecasts_at_local_midnight() -> None:
    """Tonight for tomorrow: one forecast per local midnight of the test rows (Beijing
    midnight is 16:00 UTC), not one per hour."""
    index = pd.date_range("2026-03-01", periods=40 * 24, freq="h", tz="UTC", name="ts")
    hours = index.tz_convert("Asia/Shanghai").hour.to_numpy()
    panel = pd.DataFrame({"s": 10 + 5 * np.sin(2 * np.pi * hours / 24)}, index=index)
    spec = get_protocol("day-ahead")
    assert spec.issue_at == "midnight"
    shanghai = CalendarSpec(tz="Asia/Shanghai", country="CN")
    result = compute_backtest(panel, spec=spec, calendar=shanghai, models=["seasonal_profile"])
    scored = result.scores.set_index(["model", "horizon"])["n"]
    # the rolling folds' test rows hold about 8 days: a forecast a day, not 24
    days = scored[("seasonal_profile", 24)]
    assert 5 <= days <= 12
    hourly = compute_backtest(
        panel,
        spec=get_protocol("day-ahead", issue_at="every_row"),
        calendar=shanghai,
        models=["seasonal_profile"],
    ).scores.set_index(["model", "horizon"])["n"]
    assert hourly[("seasonal_profile", 24)] > 20 * days
