"""Coupling coordination, Theil, CV, Gini, ratios and the base-year index on known cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from urbanpulse.errors import ConfigurationError
from urbanpulse.indices import build_framework, build_index_data
from urbanpulse.indices.baseyear import compute_base_year_index, get_base_year_table
from urbanpulse.indices.coupling import (
    compute_coupling,
    compute_coupling_coordination,
    compute_pairwise_coupling,
    get_coordination_band,
)
from urbanpulse.indices.disparity import (
    compute_cv,
    compute_disparity_over_time,
    compute_gini,
    compute_ratio,
    compute_theil,
    get_ratio_text,
)


def test_two_system_coupling_matches_the_textbook_formula() -> None:
    u1, u2 = 0.3, 0.8
    c, t, d = compute_coupling(np.array([[u1, u2]]))[0]
    assert c == pytest.approx(2 * np.sqrt(u1 * u2) / (u1 + u2))
    assert t == pytest.approx((u1 + u2) / 2)
    assert d == pytest.approx(np.sqrt(c * t))


def test_equal_subsystems_couple_fully_and_a_zero_one_not_at_all() -> None:
    ctd = compute_coupling(np.array([[0.4, 0.4, 0.4, 0.4, 0.4], [0.0, 0.5, 0.5, 0.5, 0.5]]))
    assert ctd[0, 0] == pytest.approx(1.0)
    assert ctd[1, 0] == 0.0
    assert ctd[1, 2] == 0.0


def test_coordination_bands_and_table_columns() -> None:
    assert get_coordination_band(0.05) == "extreme imbalance"
    assert get_coordination_band(0.55) == "barely coordinated"
    assert get_coordination_band(1.0) == "quality coordination"
    scores = pd.DataFrame({"a": [60.0, 90.0], "b": [50.0, 95.0]}, index=["x", "y"])
    out = compute_coupling_coordination(scores, scale=100)
    assert list(out.columns) == ["coupling", "development", "coordination", "band"]
    assert out.loc["y", "band"] == "quality coordination"
    with pytest.raises(ConfigurationError):
        compute_coupling_coordination(scores)  # 0-100 scores without scale


def test_pairwise_coupling_has_one_row_per_pair() -> None:
    s = pd.Series({"BJ": 0.9, "TJ": 0.6, "HE": 0.3})
    out = compute_pairwise_coupling(s)
    assert list(out.columns) == [
        "unit_a",
        "unit_b",
        "coupling",
        "development",
        "coordination",
        "band",
    ]
    assert len(out) == 3
    bj_he = out[(out.unit_a == "BJ") & (out.unit_b == "HE")].iloc[0]
    assert bj_he["coupling"] == pytest.approx(2 * np.sqrt(0.27) / 1.2)


def test_theil_is_zero_for_equal_incomes_and_decomposes_exactly() -> None:
    pop = pd.Series({"a": 10.0, "b": 30.0, "c": 20.0, "d": 40.0})
    equal = compute_theil(pd.Series(5.0, index=pop.index), pop)
    assert equal["total"].abs().max() == pytest.approx(0.0, abs=1e-12)
    x = pd.Series({"a": 10.0, "b": 2.0, "c": 6.0, "d": 3.0})
    g = pd.Series({"a": "N", "b": "N", "c": "S", "d": "S"})
    th = compute_theil(x, pop, g)
    assert list(th.columns) == ["total", "between", "within", "between_share"]
    # Direct formulas on income shares s and population shares q.
    y = x * pop
    s, q = y / y.sum(), pop / pop.sum()
    assert th.at["theil_t", "total"] == pytest.approx(float((s * np.log(s / q)).sum()))
    assert th.at["theil_l", "total"] == pytest.approx(float((q * np.log(q / s)).sum()))
    within_t = 0.0
    for grp in ("N", "S"):
        m = g == grp
        sg = s[m].sum()
        within_t += sg * float((s[m] / sg * np.log((s[m] / sg) / (q[m] / q[m].sum()))).sum())
    assert th.at["theil_t", "within"] == pytest.approx(within_t)


def test_gini_and_cv_known_values() -> None:
    assert compute_gini(pd.Series([0.0, 0.0, 0.0, 1.0])) == pytest.approx(0.75)
    assert compute_gini(pd.Series([3.0, 3.0, 3.0])) == 0.0
    x = pd.Series([1.0, 2.0, 3.0])
    assert compute_cv(x) == pytest.approx(1.0 / 2.0)
    # Weighted CV with one unit holding almost everyone tends to zero.
    w = pd.Series([1e9, 1.0, 1.0])
    assert compute_cv(x, w) < 1e-3


def test_ratio_text_for_beijing_tianjin_hebei() -> None:
    v = pd.Series({"Hebei": 20.0, "Beijing": 60.0, "Tianjin": 30.0})
    r = compute_ratio(v, ["Beijing", "Tianjin", "Hebei"])
    assert get_ratio_text(r) == "3.00 : 1.50 : 1"


def test_disparity_over_time_columns() -> None:
    idx = pd.MultiIndex.from_product([["a", "b", "c"], [2020, 2021]], names=["unit", "year"])
    v = pd.Series([1.0, 2.0, 2.0, 2.0, 3.0, 2.0], index=idx)
    pop = pd.Series(1.0, index=idx)
    out = compute_disparity_over_time(v, pop)
    assert list(out.columns) == [
        "time",
        "cv",
        "cv_weighted",
        "gini_weighted",
        "theil_t",
        "theil_t_between",
        "theil_l",
        "theil_l_between",
    ]
    assert out.loc[out.time == 2021, "gini_weighted"].iloc[0] == pytest.approx(0.0)


def _five_concept_framework() -> dict:
    concepts = ["innovation", "coordination", "green", "openness", "sharing"]
    return {
        "name": "test",
        "indicator": [
            {"code": f"{c}_{k}", "parent": c, "direction": -1 if k == 1 else 1, "weight": k + 1}
            for c in concepts
            for k in range(2)
        ],
        "aggregate": [
            {"code": c, "parent": "index", "weight": i + 1} for i, c in enumerate(concepts)
        ]
        + [{"code": "index"}],
    }


def test_base_year_index_is_100_in_the_base_year_and_total_is_mean_of_five() -> None:
    fw = build_framework(_five_concept_framework())
    rng = np.random.default_rng(1)
    rows = [
        {"region_code": u, "year": y, **{c: rng.uniform(1, 10) for c in fw.indicators}}
        for u in ("110000", "120000", "130000")
        for y in range(2014, 2020)
    ]
    data = build_index_data(pd.DataFrame(rows), fw)
    result = compute_base_year_index(data, fw, base_year=2014)
    scores = result.scores
    base = scores.xs(2014, level="year")
    assert np.allclose(base.to_numpy(), 100.0)
    concepts = fw.get_children("index")
    assert np.allclose(scores["index"], scores[concepts].mean(axis=1))
    table = get_base_year_table(result)
    assert list(table.columns) == ["unit", "time", "code", "value"]
    # A lower-is-better indicator that halves doubles its ratio.
    raw = data.values
    ratio = result.tables["normalised"]["green_1"]
    first = raw["green_1"].xs(2014, level="year")
    want = first.reindex(raw.index.get_level_values(0)).to_numpy() / raw["green_1"] * 100
    assert np.allclose(ratio, want)
