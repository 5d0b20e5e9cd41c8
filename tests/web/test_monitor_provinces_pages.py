"""The monitor's real provincial section, rendered by the server: present, absent, apart."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, upsert_indicators
from urbanpulse.twin.indicators import build_indicators


def build_province_rows() -> pd.DataFrame:
    """R&D intensity for four provinces, 2022-2023 (made-up values, marked measured)."""
    rows = [
        (code, year, "rd_intensity", value + 0.1 * (year - 2022), "% of GDP", "test RDIntense")
        for code, value in (("110000", 6.0), ("120000", 3.0), ("130000", 2.0), ("440000", 3.5))
        for year in (2022, 2023)
    ]
    table = pd.DataFrame(
        rows, columns=["region_code", "year", "indicator", "value", "unit", "source"]
    )
    return table.assign(vintage="t-1", synthetic=False)


def _get_page(root: Path, *, demo: bool, provinces: bool) -> str:
    lake = Lake(root / "lake")
    if demo:
        upsert_indicators(lake, pa.Table.from_pandas(build_indicators(2026), preserve_index=False))
    if provinces:
        upsert_indicators(lake, pa.Table.from_pandas(build_province_rows(), preserve_index=False))
    with TestClient(create_app(Settings(lake_path=lake.root))) as client:
        page = client.get("/monitor")
    assert page.status_code == 200
    return page.text


def test_section_is_labelled_real_and_kept_apart(tmp_path: Path) -> None:
    html = _get_page(tmp_path, demo=True, provinces=True)
    assert "Real provincial statistics (NBS)" in html and "Real data · not synthetic" in html
    assert 'id="synthetic-banner"' in html  # the 13-city demo stays marked synthetic
    text = " ".join(html.split())  # the words, however the template wraps them
    assert (
        "not part of the 13-city indices</strong>. The 13-city indices above are synthetic" in text
    )
    assert 'id="chart-provinces-ranking"' in html and 'id="provinces-data"' in html
    ratios = html.split('id="provinces-table"')[1].split("</table>")[0]
    assert f"{6.1 / 2.1:.2f} : {3.1 / 2.1:.2f} : 1" in ratios  # 2023
    assert 'title="test RDIntense · t-1 · 2023"' in ratios
    ranking = html.split('id="provinces-ranking-table"')[1].split("</table>")[0]
    assert ranking.index("Beijing") < ranking.index("Guangdong") < ranking.index("Tianjin")
    assert "Energy consumption per unit of GDP" in html and "no energy consumption" in html
    assert html.split('id="provinces"')[0].count('<tr data-region="') == 13  # cities only


def test_without_provinces_the_page_says_how_to_load_them(tmp_path: Path) -> None:
    html = _get_page(tmp_path, demo=True, provinces=False)
    assert 'id="provinces-absent"' in html
    assert "urbanpulse indices load-china ../shared/data" in html
    assert "monitor.provinces.js" not in html


def test_provinces_show_even_without_city_indicators(tmp_path: Path) -> None:
    html = _get_page(tmp_path, demo=False, provinces=True)
    assert "urbanpulse demo" in html  # the empty 13-city monitor still says what to do
    assert 'id="provinces-table"' in html and "monitor.provinces.js" in html
    assert 'id="synthetic-banner"' not in html


def test_the_printed_report_carries_the_real_provincial_section(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    upsert_indicators(lake, pa.Table.from_pandas(build_indicators(2026), preserve_index=False))
    upsert_indicators(lake, pa.Table.from_pandas(build_province_rows(), preserve_index=False))
    with TestClient(create_app(Settings(lake_path=lake.root))) as client:
        report = client.get("/monitor/report").text
    section = report.split('id="report-provinces"')[1].split("</table>")[0]
    assert "Real provincial statistics (NBS)" in report
    assert f"{6.1 / 2.1:.2f} : {3.1 / 2.1:.2f} : 1" in section  # 2023, as the page shows it
    assert "test RDIntense · t-1" in section
    assert "<script" not in report
