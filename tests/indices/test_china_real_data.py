"""Real NBS / census figures for Beijing, Tianjin and Hebei (needs ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from urbanpulse.indices.china import JJJ, compute_china_indicators

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def china(shared_data: Path):
    if not (shared_data / "china-province-tech").is_dir():
        pytest.skip("china-province-tech not in the shared data folder")
    return compute_china_indicators(shared_data)


def _value(ind: pd.DataFrame, code: str, indicator: str, year: int) -> float:
    sel = ind[(ind.province_code == code) & (ind.indicator == indicator) & (ind.year == year)]
    assert len(sel) == 1
    return float(sel["value"].iloc[0])


def test_tables_have_the_documented_columns(china) -> None:
    assert list(china.indicators.columns) == [
        "province_code",
        "province",
        "year",
        "indicator",
        "value",
        "unit",
        "population_basis",
        "source",
    ]
    assert list(china.ratios.columns) == [
        "indicator",
        "year",
        "beijing",
        "tianjin",
        "hebei",
        "ratio_text",
    ]
    assert list(china.unsupplied.columns) == ["code", "reason"]
    assert china.indicators["province_code"].nunique() == 31


def test_rd_spending_of_the_three_matches_nbs_totals(china) -> None:
    # README: Beijing + Tianjin + Hebei R&D spending 4,260.9 (2022), 4,458.4 (2023).
    for year, total in ((2022, 4260.9), (2023, 4458.4)):
        got = sum(_value(china.indicators, c, "rd_expenditure", year) for c in JJJ)
        assert got == pytest.approx(total, abs=0.05)


def test_per_capita_figures_use_census_population(china) -> None:
    ind = china.indicators
    # Beijing 2020: 335,575 valid invention patents (NBS) over 21,893,095 residents (census).
    patents = _value(ind, "110000", "invention_patents_valid_per_10k", 2020)
    assert patents == pytest.approx(335_575 * 1e4 / 21_893_095, rel=1e-9)
    edu = _value(ind, "110000", "education_spending_per_capita", 2020)
    assert 3000 < edu < 8000  # yuan per resident
    row = ind[(ind.province_code == "130000") & (ind.year == 2020)].iloc[0]
    assert row["population_basis"] in ("census", "not used")


def test_ratios_between_the_three(china) -> None:
    r = china.ratios
    rd = r[(r.indicator == "rd_intensity") & (r.year == 2023)].iloc[0]
    assert rd["ratio_text"] == f"{6.73 / 2.08:.2f} : {3.58 / 2.08:.2f} : 1"
    assert set(r.indicator) >= {
        "rd_intensity",
        "invention_patents_valid_per_10k",
        "education_spending_per_capita",
        "st_spending_per_capita",
        "tech_contracts_outflow",
        "tech_contracts_inflow",
    }


def test_unsupplied_framework_indicators_are_listed(china) -> None:
    codes = set(china.unsupplied["code"])
    assert "gre_energy_consumption" in codes and "sha_health_spending" in codes
    assert "inn_rd_expenditure" not in codes
