"""The published Los-loop protocol (T-GCN), reproduced on the ingested real data."""

from __future__ import annotations

import pytest

from urbanpulse.forecast import get_protocol, run_backtest
from urbanpulse.store import Lake, build_engine

pytestmark = pytest.mark.shared_data

PUBLISHED = {
    "persistence": [5.54, 6.70, 7.63, 8.46],
    "rolling_mean_12": [7.31, 7.96, 8.60, 9.26],
}


def test_persistence_and_rolling_mean_reproduce_the_published_rmse(los_loop_lake: Lake) -> None:
    result = run_backtest(
        los_loop_lake,
        "speed",
        spec=get_protocol("los-loop"),
        models=["rolling_mean"],
        engine=build_engine("duckdb"),
    )
    assert result.sites == 207
    for model, expected in PUBLISHED.items():
        rows = result.scores[result.scores["model"] == model].sort_values("horizon")
        assert rows["horizon"].tolist() == [3, 6, 9, 12]
        assert rows["rmse"].round(2).tolist() == expected, model
        assert rows["n"].tolist() == [207 * h * (404 - 12 - h) for h in (3, 6, 9, 12)]


def test_learned_model_beats_persistence_at_every_horizon(los_loop_lake: Lake) -> None:
    result = run_backtest(
        los_loop_lake,
        "speed",
        spec=get_protocol("los-loop"),
        models=["global_boost"],
        engine=build_engine("duckdb"),
    )
    learned = result.scores[result.scores["model"] == "global_boost"]
    assert (learned["rmse_vs_persistence"] < 0.95).all()
