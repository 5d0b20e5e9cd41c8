"""The base-year index on indicators that cross zero (growth gaps in percentage points)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from urbanpulse.errors import ConfigurationError
from urbanpulse.indices import build_index_data, compute_base_year_index, read_default_framework
from urbanpulse.indices.baseyear import get_base_year_table
from urbanpulse.indices.normalise import compute_normalised
from urbanpulse.twin.indicators import build_indicators


@pytest.fixture(scope="module")
def demo_base_index() -> pd.DataFrame:
    fw = read_default_framework()
    data = build_index_data(build_indicators(2026), fw)
    return get_base_year_table(compute_base_year_index(data, fw, base_year=2014))


def test_every_sub_index_stays_in_a_sane_range_on_the_demo(demo_base_index: pd.DataFrame) -> None:
    values = demo_base_index["value"]
    assert np.isfinite(values).all()
    # 100 in the base year; never negative; the fastest-growing (innovation outputs
    # rising twentyfold) stay below about ten times their 2014 level.
    assert values.between(50, 1100).all(), demo_base_index.loc[~values.between(50, 1100)]
    base = demo_base_index[demo_base_index["time"] == 2014]
    assert np.allclose(base["value"], 100.0)
    # Coordination moves slowly: no city leaves 90-250 (the bug gave Handan -431).
    coordination = demo_base_index.loc[demo_base_index["code"] == "coordination", "value"]
    assert coordination.between(90, 250).all()


def test_the_shifted_gap_is_the_relative_growth_factor() -> None:
    index = pd.MultiIndex.from_product([["a"], [2014, 2015]], names=["unit", "year"])
    gap = pd.DataFrame({"gap": [-0.03, 2.0]}, index=index)
    out = compute_normalised(
        gap,
        pd.Series({"gap": 1.0}),
        method="base_year",
        base_year=2014,
        shifts=pd.Series({"gap": 100.0}),
    )
    assert out.loc[("a", 2015), "gap"] == pytest.approx(100 * 102.0 / 99.97)


def test_negative_values_without_a_shift_are_refused() -> None:
    index = pd.MultiIndex.from_product([["a"], [2014, 2015]], names=["unit", "year"])
    gap = pd.DataFrame({"gap": [-0.03, 2.0]}, index=index)
    with pytest.raises(ConfigurationError, match="base_shift"):
        compute_normalised(gap, pd.Series({"gap": 1.0}), method="base_year", base_year=2014)


def test_the_default_framework_shifts_the_growth_gap() -> None:
    fw = read_default_framework()
    assert fw.get_node("coo_gdp_growth_gap")["base_shift"] == 100.0
    assert fw.get_node("coo_gdp")["base_shift"] == 0.0
