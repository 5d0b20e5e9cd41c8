"""Accuracy measures against hand-computed values, and the laws they obey."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from urbanpulse.forecast.metrics import compute_coverage, compute_metrics


def test_metrics_match_hand_computed_values() -> None:
    y, yhat = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 2.0, 1.0, 4.0])
    m = compute_metrics(y, yhat)
    # errors -1, 0, 2, 0: SSE 5, sum|e| 3, sum|y| 10, ||y|| sqrt(30), SST 5
    assert m["rmse"] == pytest.approx(math.sqrt(5 / 4))
    assert m["mae"] == pytest.approx(0.75)
    assert m["mape"] == pytest.approx((1 / 1 + 0 + 2 / 3 + 0) / 4 * 100)
    assert m["wape"] == pytest.approx(30.0)
    assert m["accuracy"] == pytest.approx(1 - math.sqrt(5) / math.sqrt(30))
    assert m["r2"] == pytest.approx(0.0)
    assert m["n"] == 4


def test_metrics_skip_missing_cells_and_zero_truth_in_mape() -> None:
    m = compute_metrics(np.array([0.0, 2.0, np.nan]), np.array([1.0, 1.0, 5.0]))
    assert m["n"] == 2
    assert m["mape"] == pytest.approx(50.0)  # only y=2 counts
    assert m["rmse"] == pytest.approx(1.0)


def test_metrics_of_nothing_are_nan() -> None:
    m = compute_metrics(np.array([np.nan]), np.array([1.0]))
    assert m["n"] == 0 and math.isnan(m["rmse"])


def test_coverage_counts_inclusive_bounds() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert compute_coverage(y, y - 1, np.array([2.0, 2.0, 2.0, 5.0])) == pytest.approx(0.75)


def test_metrics_reject_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="differ in size"):
        compute_metrics(np.ones(3), np.ones(4))


# rounded so |y| is never so tiny that |error| / |y| overflows
finite = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False).map(lambda v: round(v, 3))


@given(arrays(float, 20, elements=finite), arrays(float, 20, elements=finite))
def test_rmse_at_least_mae_and_accuracy_at_most_one(y: np.ndarray, yhat: np.ndarray) -> None:
    m = compute_metrics(y, yhat)
    assert m["rmse"] >= m["mae"] - 1e-9
    if not math.isnan(m["accuracy"]):
        assert m["accuracy"] <= 1 + 1e-12
    if not math.isnan(m["r2"]):
        assert m["r2"] <= 1 + 1e-12


@given(arrays(float, 15, elements=finite))
def test_perfect_forecast_scores_perfectly(y: np.ndarray) -> None:
    m = compute_metrics(y, y.copy())
    assert m["rmse"] == 0 and m["mae"] == 0
    assert math.isnan(m["accuracy"]) or m["accuracy"] == 1


@given(
    arrays(float, 10, elements=finite),
    arrays(float, 10, elements=finite),
    arrays(float, 10, elements=finite),
)
def test_coverage_is_a_share(y: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
    assert 0 <= compute_coverage(y, low, high) <= 1
