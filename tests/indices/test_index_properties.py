"""Laws that hold for any data: ranges, weights summing to one, monotone composites."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from urbanpulse.indices import build_framework, build_index_data, run_pipeline
from urbanpulse.indices.coupling import compute_coupling
from urbanpulse.indices.normalise import compute_normalised
from urbanpulse.indices.weights import (
    compute_critic_weights,
    compute_entropy_weights,
    compute_weights,
)

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
nonneg = st.floats(0, 1e4, allow_nan=False, allow_infinity=False)


def _matrix(elements: st.SearchStrategy[float], rows: int = 6, cols: int = 4):
    return arrays(np.float64, (rows, cols), elements=elements)


@settings(max_examples=60, deadline=None)
@given(_matrix(finite), st.sampled_from(["minmax", "rank", "goalposts"]))
def test_normalised_values_stay_in_range(x: np.ndarray, method: str) -> None:
    table = pd.DataFrame(x, columns=list("abcd"))
    d = pd.Series([1.0, -1.0, 1.0, -1.0], index=table.columns)
    out = compute_normalised(table, d, method=method, lower=0.0, upper=100.0)
    values = out.to_numpy()
    assert np.isfinite(values).all()
    assert (values >= -1e-9).all() and (values <= 100 + 1e-9).all()


@settings(max_examples=60, deadline=None)
@given(_matrix(nonneg, rows=8, cols=5))
def test_entropy_and_critic_weights_sum_to_one_even_with_zeros(x: np.ndarray) -> None:
    x[0, :] = 0.0  # zeros must not break entropy weighting
    for w in (compute_entropy_weights(x), compute_critic_weights(x)):
        assert np.isfinite(w).all()
        assert (w >= 0).all()
        assert abs(w.sum() - 1.0) < 1e-9


SPEC = {
    "name": "prop",
    "indicator": [
        {"code": "a", "parent": "p", "direction": 1, "weight": 2},
        {"code": "b", "parent": "p", "direction": -1},
        {"code": "c", "parent": "q", "direction": 1},
        {"code": "d", "parent": "q", "direction": 1, "weight": 3},
    ],
    "aggregate": [
        {"code": "p", "parent": "i"},
        {"code": "q", "parent": "i", "weight": 2},
        {"code": "i"},
    ],
}


@settings(max_examples=40, deadline=None)
@given(_matrix(nonneg, rows=6, cols=4), st.sampled_from(["equal", "entropy", "pca", "critic"]))
def test_weights_sum_to_one_within_every_parent(x: np.ndarray, method: str) -> None:
    fw = build_framework(SPEC)
    x = x + np.arange(24).reshape(6, 4)  # keep columns non-constant for PCA and CRITIC
    table = pd.DataFrame(x, columns=fw.indicators)
    w = compute_weights(fw, table, method=method)
    for parent in ("p", "q", "i"):
        assert abs(w[fw.get_children(parent)].sum() - 1.0) < 1e-9


@settings(max_examples=25, deadline=None)
@given(
    _matrix(st.floats(1, 1e3, allow_nan=False), rows=7, cols=4),
    st.integers(0, 6),
    st.floats(0.0, 1e3, allow_nan=False),
    st.sampled_from(["arithmetic", "geometric", "harmonic"]),
    st.sampled_from(["minmax", "rank", "zscore"]),
)
def test_composite_is_monotone_in_a_positive_indicator(
    x: np.ndarray, unit: int, bump: float, agg: str, norm: str
) -> None:
    fw = build_framework(SPEC)
    # Geometric and harmonic means need positive inputs: normalise to [1, 100] there.
    lower, upper = (1.0, 100.0) if norm == "minmax" else (0.0, 100.0)
    if norm == "zscore" and agg != "arithmetic":
        norm = "minmax"
        lower = 1.0
    steps = [
        {"step": "normalise", "method": norm, "lower": lower, "upper": upper},
        {"step": "aggregate", "method": agg if norm != "rank" else "arithmetic"},
    ]

    def score(m: np.ndarray) -> float:
        table = pd.DataFrame(m, columns=fw.indicators)
        table.insert(0, "region_code", [f"u{k}" for k in range(len(m))])
        res = run_pipeline(fw, build_index_data(table, fw), steps)
        return float(res.scores["i"].iloc[unit])

    bumped = x.copy()
    bumped[unit, 0] += bump  # indicator "a" has direction +1
    assert score(bumped) >= score(x) - 1e-9


@settings(max_examples=100, deadline=None)
@given(_matrix(st.floats(0, 1, allow_nan=False), rows=5, cols=3))
def test_coupling_degree_in_unit_interval(u: np.ndarray) -> None:
    ctd = compute_coupling(u)
    assert ((ctd >= 0) & (ctd <= 1 + 1e-12)).all()
