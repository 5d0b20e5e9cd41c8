from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import urbanpulse.indices
from urbanpulse.catalog import get_cities
from urbanpulse.twin import SOURCE, UNITS, build_indicators
from urbanpulse.twin.indicators import INDICATOR_COLUMNS

FRAMEWORK = Path(urbanpulse.indices.__file__).parent / "frameworks" / "jingjinji.toml"


@pytest.fixture(scope="module")
def indicators() -> pd.DataFrame:
    return build_indicators(2026)


def _wide(indicators: pd.DataFrame, code: str) -> pd.DataFrame:
    rows = indicators[indicators["indicator"] == code]
    return rows.pivot(index="region_code", columns="year", values="value")


def test_every_city_and_year_has_every_indicator(indicators: pd.DataFrame) -> None:
    assert list(indicators.columns) == INDICATOR_COLUMNS
    assert set(indicators["region_code"]) == {c.code for c in get_cities()}
    assert set(indicators["year"]) == set(range(2014, 2025))
    assert set(indicators["indicator"]) == set(UNITS)
    assert len(indicators) == 13 * 11 * len(UNITS)
    assert indicators["value"].notna().all()
    assert indicators["synthetic"].all() and (indicators["source"] == SOURCE).all()
    assert (indicators["unit"] == indicators["indicator"].map(UNITS)).all()


def test_codes_and_units_follow_the_monitor_framework() -> None:
    if not FRAMEWORK.is_file():
        pytest.skip(f"index framework not found at {FRAMEWORK}")
    spec = tomllib.loads(FRAMEWORK.read_text("utf-8"))
    for item in spec["indicator"]:
        assert UNITS.get(item["code"]) == item["unit"], item["code"]
    assert set(spec.get("denominators", [])) <= set(UNITS)


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_energy_per_gdp_falls_by_more_than_a_quarter_2014_to_2020(seed: int) -> None:
    data = build_indicators(seed)
    energy = _wide(data, "gre_energy_consumption").sum()
    gdp = _wide(data, "gdp").sum()
    assert (energy / gdp)[2020] < 0.75 * (energy / gdp)[2014]


def test_zhangjiakou_comes_within_47_rail_minutes_in_2020(indicators: pd.DataFrame) -> None:
    minutes = _wide(indicators, "coo_rail_minutes_to_beijing").loc["130700"]
    assert (minutes[minutes.index <= 2019] == 187).all()
    assert (minutes[minutes.index >= 2020] == 47).all()


def test_beijing_leads_tianjin_leads_hebei_per_resident(indicators: pd.DataFrame) -> None:
    population = _wide(indicators, "population")
    for code in (
        "gdp",
        "sha_education_spending",
        "sha_social_security_spending",
        "inn_invention_patents",
    ):
        per_capita = _wide(indicators, code) / population
        hebei = per_capita.drop(["110000", "120000"]).max()
        assert (per_capita.loc["110000"] > per_capita.loc["120000"]).all(), code
        assert (per_capita.loc["120000"] > hebei).all(), code


def test_indicators_grow_and_pm25_falls(indicators: pd.DataFrame) -> None:
    gdp = _wide(indicators, "gdp")
    assert (gdp[2024] > 1.3 * gdp[2014]).all()
    pm25 = _wide(indicators, "gre_pm25")
    assert (pm25[2024] < 0.75 * pm25[2014]).all()


def test_indicators_are_deterministic_by_seed() -> None:
    pd.testing.assert_frame_equal(build_indicators(1), build_indicators(1))
    assert not build_indicators(1)["value"].equals(build_indicators(2)["value"])
