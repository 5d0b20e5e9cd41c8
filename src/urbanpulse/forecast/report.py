"""Backtest results for people (a Rich table) and for machines (a JSON file)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from rich.table import Table

from urbanpulse.forecast.backtest import BacktestResult


def build_backtest_table(result: BacktestResult) -> Table:
    """One row per model and horizon: errors, accuracy, R², interval coverage, ratio."""
    spec = result.spec
    title = (
        f"Backtest of {result.metric or 'the panel'} ({spec.protocol}, {spec.mode}, "
        f"{result.sites} sites, {spec.period_minutes}-min periods, {spec.scoring} scoring)"
    )
    table = Table(title=title)
    for column in (
        "model",
        "horizon",
        "RMSE",
        "MAE",
        "MAPE %",
        "WAPE %",
        "accuracy",
        "R²",
        "p10-p90 cover",
        "cover, held-out bands",
        "RMSE / persistence",
    ):
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in result.scores.itertuples(index=False):
        table.add_row(
            row.model,
            f"{row.horizon} ({row.horizon_minutes} min)",
            _fmt(row.rmse),
            _fmt(row.mae),
            _fmt(row.mape, 1),
            _fmt(row.wape, 1),
            _fmt(row.accuracy, 3),
            _fmt(row.r2, 3),
            _fmt(row.coverage, 3),
            _fmt(row.coverage_held_out, 3),
            _fmt(row.rmse_vs_persistence, 3),
        )
    return table


def build_choice_table(result: BacktestResult) -> Table:
    """Per fold and site group: the model(s) ``auto`` chose, by horizon step."""
    table = Table(title="What auto chose on held-out training rows (model and steps)")
    for column in ("fold", "site group", "models by step"):
        table.add_column(column)
    for fold, choice in result.selection.items():
        for group, description in choice.items():
            table.add_row(fold, group, description)
    return table


def build_timing_table(result: BacktestResult) -> Table:
    """Fit and predict seconds per model, summed over folds."""
    table = Table(title="Time per model (seconds, all folds)")
    for column in ("model", "fit", "predict"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in result.timings.itertuples(index=False):
        table.add_row(row.model, f"{row.fit_seconds:.2f}", f"{row.predict_seconds:.2f}")
    return table


def write_backtest_json(result: BacktestResult, path: Path) -> None:
    """Write :meth:`BacktestResult.to_dict` to ``path`` (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_dict(), indent=2, default=_jsonable) + "\n")


def _fmt(value: float, digits: int = 2) -> str:
    return (
        "-"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:.{digits}f}"
    )


def _jsonable(value: object) -> object:
    # numpy scalars and tuples from the spec are the only non-JSON types in a result
    if hasattr(value, "item"):
        return value.item()  # type: ignore[union-attr]
    return str(value)
