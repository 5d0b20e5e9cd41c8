"""The monitor's real provincial section in headless Chromium: charts drawn, the indicator
switch redraws them, sources on hover, nothing fetched from outside.
Screenshot: test-artifacts/monitor-provinces.png."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from urbanpulse.api import create_app
from urbanpulse.indices.provinces import PROVINCES, write_china_indicators
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, upsert_indicators
from urbanpulse.twin.indicators import build_indicators

pytestmark = pytest.mark.browser

CHARTS = ("chart-provinces-values", "chart-provinces-ratios", "chart-provinces-ranking")


def get_shared_data_dir() -> Path:
    env = os.environ.get("URBANPULSE_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data"


def build_province_rows() -> pd.DataFrame:
    """Made-up R&D intensity and patents for every province, 2015-2023, marked measured."""
    rows = []
    for k, code in enumerate(PROVINCES):
        for year in range(2015, 2024):
            grow = 1 + 0.03 * (year - 2015)
            rd, patents = (6.0 - 0.15 * k) * grow, 200.0 / (k + 1) * grow
            rows += [
                (code, year, "rd_intensity", rd, "% of GDP", "test RDIntense"),
                (code, year, "invention_patents_valid_per_10k", patents, "per 10,000 residents",
                 "test RDPatentValid"),
            ]  # fmt: skip
    columns = ["region_code", "year", "indicator", "value", "unit", "source"]
    return pd.DataFrame(rows, columns=columns).assign(vintage="t-1", synthetic=False)


@pytest.fixture(scope="module")
def provinces_server(tmp_path_factory: pytest.TempPathFactory, app_server: Any) -> Iterator[str]:
    """Demo city indicators plus the real provincial tables when ../shared/data has them
    (made-up provincial rows otherwise, so the test runs anywhere)."""
    lake = Lake(tmp_path_factory.mktemp("provinces-browser") / "lake")
    upsert_indicators(lake, pa.Table.from_pandas(build_indicators(2026), preserve_index=False))
    shared = get_shared_data_dir()
    if (shared / "china-province-tech").is_dir():
        write_china_indicators(lake, shared)
    else:
        upsert_indicators(lake, pa.Table.from_pandas(build_province_rows(), preserve_index=False))
    with app_server(create_app(Settings(lake_path=lake.root))) as url:
        yield url


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def test_provinces_section_draws_its_charts(
    page: Any, provinces_server: str, artifacts: Path
) -> None:
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(provinces_server + "/monitor", wait_until="networkidle")
    for chart in CHARTS:
        page.wait_for_selector(f"#{chart}[data-rendered='true']")
        assert page.locator(f"#{chart} .main-svg").count() >= 1, chart
    assert page.locator("#provinces-badge").inner_text() == "Real data · not synthetic"
    # Three lines (Beijing, Tianjin, Hebei) of R&D intensity, then a switch to patents.
    assert page.locator("#chart-provinces-values .scatterlayer .trace").count() == 3
    title = page.locator("#chart-provinces-values .ytitle").text_content()
    page.select_option("#provinces-indicator", "invention_patents_valid_per_10k")
    page.wait_for_function(
        "t => document.querySelector('#chart-provinces-values .ytitle').textContent !== t",
        arg=title,
    )
    assert "10,000" in (page.locator("#chart-provinces-values .ytitle").text_content() or "")
    assert page.locator("#chart-provinces-ranking .bars .point").count() >= 4
    cell = page.locator("#provinces-table tr[data-indicator='rd_intensity'] td[title]").first
    assert "RDIntense" in (cell.get_attribute("title") or "")
    assert page.locator("#provinces-unsupplied tbody tr").count() >= 15
    outside = [u for u in requests if not u.startswith((provinces_server + "/", "data:", "blob:"))]
    assert outside == [] and errors == []
    page.select_option("#provinces-indicator", "rd_intensity")
    page.wait_for_function(
        "t => document.querySelector('#chart-provinces-values .ytitle').textContent === t",
        arg=title,
    )
    page.locator("#provinces").screenshot(path=str(artifacts / "monitor-provinces.png"))
