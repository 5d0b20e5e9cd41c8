"""Monte Carlo rank intervals and Sobol indices (checked on the Ishigami function)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from urbanpulse.indices import build_framework, build_index_data, run_pipeline
from urbanpulse.indices.sensitivity import (
    ISHIGAMI_FIRST,
    ISHIGAMI_TOTAL,
    compute_index_sensitivity,
    compute_ishigami,
    compute_sobol_indices,
)
from urbanpulse.indices.uncertainty import build_scenario_model, compute_monte_carlo


def _framework_and_data(n_units: int = 8, seed: int = 3):
    spec = {
        "name": "toy",
        "indicator": [
            {"code": f"i{k}", "parent": f"p{k % 2}", "direction": 1 if k % 3 else -1}
            for k in range(6)
        ],
        "aggregate": [
            {"code": "p0", "parent": "index"},
            {"code": "p1", "parent": "index"},
            {"code": "index"},
        ],
    }
    fw = build_framework(spec)
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(rng.uniform(1, 50, size=(n_units, 6)), columns=fw.indicators)
    table.iloc[0, 2] = np.nan
    table.insert(0, "region_code", [f"u{k}" for k in range(n_units)])
    return fw, build_index_data(table, fw)


def test_sobol_reproduces_ishigami_exact_indices() -> None:
    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}
    out = compute_sobol_indices(compute_ishigami, problem, n=4096, seed=1)
    assert list(out.columns) == ["factor", "s1", "s1_conf", "st", "st_conf"]
    assert out["s1"].to_numpy() == pytest.approx(ISHIGAMI_FIRST, abs=0.03)
    assert out["st"].to_numpy() == pytest.approx(ISHIGAMI_TOTAL, abs=0.03)


def test_monte_carlo_nominal_matches_pipeline_and_intervals_hold_it() -> None:
    fw, data = _framework_and_data()
    model = build_scenario_model(fw, data)
    mc = compute_monte_carlo(model, n_draws=400, seed=2)
    assert list(mc.summary.columns) == [
        "nominal_rank",
        "median_rank",
        "rank_p05",
        "rank_p95",
        "rank_min",
        "rank_max",
    ]
    nominal = run_pipeline(
        fw,
        data,
        [
            {"step": "impute", "method": "mean"},
            {"step": "treat"},
            {"step": "normalise"},
            {"step": "aggregate"},
        ],
    ).ranks["index"]
    assert mc.summary["nominal_rank"].to_numpy() == pytest.approx(nominal.to_numpy())
    s = mc.summary
    assert ((s.rank_min <= s.rank_p05) & (s.rank_p05 <= s.median_rank)).all()
    assert ((s.median_rank <= s.rank_p95) & (s.rank_p95 <= s.rank_max)).all()
    assert set(mc.draws["normalisation"]) == {"minmax", "zscore", "rank"}
    assert mc.ranks.shape == (400, len(data.values))


def test_monte_carlo_without_uncertainty_gives_point_intervals() -> None:
    fw, data = _framework_and_data()
    model = build_scenario_model(
        fw, data, imputations=("mean",), normalisations=("minmax",), aggregations=("arithmetic",)
    )
    mc = compute_monte_carlo(model, n_draws=50, weight_noise=0.0)
    assert (mc.summary["rank_min"] == mc.summary["rank_max"]).all()


def test_index_sensitivity_has_one_row_per_factor() -> None:
    fw, data = _framework_and_data()
    model = build_scenario_model(fw, data)
    out = compute_index_sensitivity(model, n=64)
    assert list(out["factor"]) == ["w_p0", "w_p1", "imputation", "normalisation", "aggregation"]
    assert np.isfinite(out["st"]).all()
