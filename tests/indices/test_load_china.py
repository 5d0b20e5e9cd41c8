"""`urbanpulse indices load-china`: real provincial statistics stored apart from the monitor."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from urbanpulse.cli.indices import indices_app
from urbanpulse.errors import NotFoundError
from urbanpulse.indices.china import JJJ
from urbanpulse.indices.lake import get_latest_vintage
from urbanpulse.indices.monitor import read_default_framework
from urbanpulse.indices.provinces import build_province_summary, read_province_indicators
from urbanpulse.store import Lake, read_indicators, upsert_indicators
from urbanpulse.store.interface import INDICATORS_SCHEMA

LAKE_COLUMNS = list(INDICATORS_SCHEMA.names)


def build_rows(*, vintage: str = "test-1", synthetic: bool = False, scale: float = 1.0):
    """Three indicators for five provinces, 2021-2023 (made-up values, marked measured)."""
    rows = []
    for k, code in enumerate(["110000", "120000", "130000", "310000", "440000"]):
        for year in (2021, 2022, 2023):
            for indicator, base, unit in (
                ("rd_intensity", 6.0 - k, "% of GDP"),
                ("invention_patents_valid_per_10k", 50.0 / (k + 1), "per 10,000 residents"),
                ("education_spending_per_capita", 4000.0 - 500 * k, "yuan per resident"),
            ):
                value = scale * base * (1 + 0.01 * (year - 2021))
                rows.append((code, year, indicator, value, unit, "test table", vintage, synthetic))
    return pd.DataFrame(rows, columns=LAKE_COLUMNS)


def _store(lake: Lake, rows: pd.DataFrame) -> None:
    upsert_indicators(lake, pa.Table.from_pandas(rows, preserve_index=False))


@pytest.fixture(scope="module")
def loaded(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Lake, str]:
    if not (shared_data / "china-province-tech").is_dir():
        pytest.skip(f"china-province-tech not in {shared_data}")
    lake = Lake(tmp_path_factory.mktemp("china") / "lake")
    res = CliRunner().invoke(
        indices_app, ["load-china", str(shared_data), "--lake", str(lake.root)]
    )
    assert res.exit_code == 0, res.output
    return lake, res.output


def _stored(lake: Lake, indicator: str, year: int) -> pd.Series:
    t = read_indicators(lake, indicator=indicator)
    return t[t["year"] == year].set_index("region_code")["value"]


@pytest.mark.shared_data
def test_load_china_stores_the_nbs_figures_of_the_three(loaded: tuple[Lake, str]) -> None:
    lake, _ = loaded
    # README: Beijing + Tianjin + Hebei R&D spending 4,260.9 (2022) and 4,458.4 (2023).
    for year, total in ((2022, 4260.9), (2023, 4458.4)):
        assert _stored(lake, "rd_expenditure", year)[list(JJJ)].sum() == pytest.approx(
            total, abs=0.05
        )
    rd = _stored(lake, "rd_intensity", 2023)
    assert rd[list(JJJ)].tolist() == pytest.approx([6.73, 3.58, 2.08])
    table = read_indicators(lake)
    assert list(table.columns) == LAKE_COLUMNS
    assert table["region_code"].nunique() == 31 and not table["synthetic"].any()
    assert set(table["vintage"]) == {"techme-2024"}
    patents = table[table["indicator"] == "invention_patents_valid_per_10k"]
    assert patents["source"].str.contains("RDPatentValid").all()
    assert patents["source"].str.contains("census").all()


@pytest.mark.shared_data
def test_load_china_prints_ratios_and_gaps(loaded: tuple[Lake, str]) -> None:
    _, output = loaded
    text = " ".join(output.split())
    assert "31 provinces" in text and "vintage techme-2024" in text
    assert "rd_intensity 2023 3.24 : 1.72 : 1" in text
    assert "cannot yet supply 19 framework indicators" in text
    assert "gre_energy_consumption no energy consumption" in text


@pytest.mark.shared_data
def test_load_china_twice_replaces_instead_of_duplicating(
    loaded: tuple[Lake, str], shared_data: Path
) -> None:
    lake, _ = loaded
    before = len(read_indicators(lake))
    res = CliRunner().invoke(
        indices_app, ["load-china", str(shared_data), "--lake", str(lake.root)]
    )
    assert res.exit_code == 0, res.output
    assert len(read_indicators(lake)) == before


def test_load_china_names_the_missing_files(tmp_path: Path) -> None:
    (tmp_path / "china-province-tech").mkdir()
    (tmp_path / "china-province-tech" / "RDIntense.csv").write_text("province,year\n")
    lake = tmp_path / "lake"
    res = CliRunner().invoke(indices_app, ["load-china", str(tmp_path), "--lake", str(lake)])
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert "MarketPush.csv" in text and "census_city_2010-2020_v1.csv" in text
    assert "RDIntense.csv," not in text
    assert Lake(lake).version == 0  # nothing committed


def test_province_rows_stay_out_of_the_13_city_monitor(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    _store(lake, build_rows())
    chosen = get_latest_vintage(read_indicators(lake), read_default_framework())
    assert chosen.empty


def test_summary_ratios_ranking_and_gaps(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    _store(lake, build_rows())
    body = build_province_summary(lake)
    assert body["synthetic"] is False and body["years"] == [2021, 2022, 2023]
    rd = next(i for i in body["indicators"] if i["code"] == "rd_intensity")
    assert rd["year"] == 2023 and rd["ratio_text"] == f"{6 / 4:.2f} : {5 / 4:.2f} : 1"
    assert rd["values"]["130000"]["vintage"] == "test-1"
    assert rd["first_ratio_year"] == 2021
    ranking = body["ranking"]
    assert ranking["year"] == 2023
    assert [r["region_code"] for r in ranking["items"]][:2] == ["110000", "120000"]
    assert ranking["items"][-1]["name_en"] == "Guangdong"
    gaps = {g["code"]: g["reason"] for g in body["unsupplied"]}
    assert "inn_rd_expenditure" not in gaps and "sha_education_spending" not in gaps
    assert "gre_energy_consumption" in gaps and len(gaps) == 19
    assert body["series"]["rd_intensity"]["110000"]["years"] == [2021, 2022, 2023]


def test_gaps_follow_what_is_stored(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    rows = build_rows()
    _store(lake, rows[rows["indicator"] != "education_spending_per_capita"])
    gaps = {g["code"]: g["reason"] for g in build_province_summary(lake)["unsupplied"]}
    assert gaps["sha_education_spending"] == "education_spending_per_capita is not loaded"


def test_latest_vintage_wins_and_synthetic_rows_are_ignored(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    _store(lake, build_rows(vintage="test-1"))
    _store(lake, build_rows(vintage="test-2", scale=2.0))
    _store(lake, build_rows(vintage="test-3", scale=9.0, synthetic=True))
    table = read_province_indicators(lake)
    assert set(table["vintage"]) == {"test-2"}
    assert len(table) == len(build_rows())


def test_no_provincial_rows_says_how_to_load(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="load-china"):
        build_province_summary(Lake(tmp_path / "lake"))
