"""Single steps on tiny hand-made tables: panel imputation, screening, normalisation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from urbanpulse.errors import ConfigurationError
from urbanpulse.indices.impute import compute_imputed
from urbanpulse.indices.normalise import compute_normalised
from urbanpulse.indices.screen import compute_screened
from urbanpulse.indices.weights import compute_entropy_weights


def _panel(values: list[float]) -> pd.DataFrame:
    idx = pd.MultiIndex.from_product([["a"], range(2010, 2010 + len(values))], names=["u", "year"])
    return pd.DataFrame({"x": values}, index=idx)


def test_linear_interpolation_respects_max_gap_and_never_extrapolates() -> None:
    t = _panel([np.nan, 1.0, np.nan, 3.0, np.nan, np.nan, np.nan, 7.0, np.nan])
    out, details = compute_imputed(t, method="linear", max_gap=2)
    x = out["x"].to_numpy()
    assert np.isnan(x[0]) and np.isnan(x[-1])  # no extrapolation
    assert x[2] == pytest.approx(2.0)
    assert np.isnan(x[4:7]).all()  # a three-year gap stays open with max_gap=2
    assert list(details.columns) == ["indicator", "n_missing", "n_imputed"]
    assert details.loc[0, "n_imputed"] == 1


def test_locf_carries_forward_up_to_max_gap() -> None:
    t = _panel([5.0, np.nan, np.nan, np.nan, 9.0])
    out, _ = compute_imputed(t, method="locf", max_gap=2)
    assert out["x"].tolist()[:4] == [5.0, 5.0, 5.0, pytest.approx(np.nan, nan_ok=True)]


def test_group_mean_needs_groups_and_fills_within_group() -> None:
    t = pd.DataFrame({"x": [1.0, np.nan, 3.0, 10.0, np.nan]}, index=list("abcde"))
    g = pd.Series(list("ggghh"), index=t.index)
    out, _ = compute_imputed(t, method="group_mean", groups=g)
    assert out.loc["b", "x"] == 2.0 and out.loc["e", "x"] == 10.0
    with pytest.raises(ConfigurationError):
        compute_imputed(t, method="group_mean")


def test_screen_by_unit_and_indicator() -> None:
    t = pd.DataFrame({"x": [1.0, np.nan, 2.0], "y": [np.nan, np.nan, 1.0]}, index=list("abc"))
    kept, details = compute_screened(t, min_coverage=0.5, by="unit")
    assert list(kept.index) == ["a", "c"]
    assert list(details.columns) == ["item", "coverage", "kept"]
    kept, _ = compute_screened(t, min_coverage=0.5, by="indicator")
    assert list(kept.columns) == ["x"]


def test_distance_to_target_and_zscore() -> None:
    t = pd.DataFrame({"x": [0.0, 5.0, 10.0, 20.0]})
    d = pd.Series({"x": 1.0})
    out = compute_normalised(t, d, method="target", targets=pd.Series({"x": 10.0}))
    assert out["x"].tolist() == [0.0, 50.0, 100.0, 100.0]
    z = compute_normalised(t, d, method="zscore", lower=0.0, upper=1.0)
    assert z["x"].mean() == pytest.approx(0.0) and z["x"].std() == pytest.approx(1.0)


def test_base_year_ratio_against_the_mean_keeps_units_comparable() -> None:
    idx = pd.MultiIndex.from_product([["a", "b"], [2014, 2015]], names=["u", "year"])
    t = pd.DataFrame({"x": [10.0, 20.0, 30.0, 30.0]}, index=idx)
    out = compute_normalised(
        t, pd.Series({"x": 1.0}), method="base_year", base_year=2014, reference="mean"
    )
    assert out["x"].tolist() == [50.0, 100.0, 150.0, 150.0]


def test_entropy_weight_of_an_all_zero_indicator_is_zero() -> None:
    x = np.array([[0.0, 1.0, 5.0], [0.0, 2.0, 0.0], [0.0, 3.0, 1.0]])
    w = compute_entropy_weights(x)
    assert w[0] == 0.0 and w.sum() == pytest.approx(1.0)
    assert w[2] > w[1]  # the column with a zero is the more uneven one
