"""The real provincial statistics shipped inside the package, and a demo that shows them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.indices.china import JJJ
from urbanpulse.indices.extract import (
    COLUMNS,
    EXTRACT_FILE,
    LICENCE_FILE,
    build_province_extract,
    read_province_extract,
    write_province_extract,
)
from urbanpulse.indices.provinces import INDICATORS, RANKED, RESIDENTS, get_licence
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, read_indicators


def test_the_extract_is_small_measured_and_licensed() -> None:
    table = read_province_extract()
    assert tuple(table.columns) == COLUMNS
    assert EXTRACT_FILE.stat().st_size < 150_000
    assert not table["synthetic"].any() and table["value"].notna().all()
    assert set(table["indicator"]) <= set(INDICATORS)
    assert set(table.loc[table["indicator"] != RANKED, "region_code"]) == set(JJJ)
    assert table.loc[table["indicator"] == RANKED, "region_code"].nunique() == 31
    assert table["unit"].notna().all() and table["vintage"].notna().all()
    assert all(get_licence(s) for s in table["source"]), "a value without a licence"
    text = LICENCE_FILE.read_text("utf-8")
    assert text.count("MIT") >= 2 and "techme" in text and "Lei Dong" in text


def test_census_residents_are_the_census_counts() -> None:
    table = read_province_extract()
    residents = table[table["indicator"] == RESIDENTS].set_index(["region_code", "year"])
    assert residents.at[("110000", 2020), "value"] == 21_893_095  # PRODUCT.md
    assert residents.at[("120000", 2020), "value"] == 13_866_009
    # Hebei: its 11 prefecture cities, and the source says it is not the provincial total.
    assert residents.at[("130000", 2020), "value"] == 72_308_809
    assert "11 prefecture cities" in residents.at[("130000", 2020), "source"]


@pytest.mark.shared_data
def test_the_shipped_extract_is_what_the_shared_data_gives(shared_data: Path) -> None:
    fresh = build_province_extract(shared_data).reset_index(drop=True)
    shipped = read_province_extract()
    pd.testing.assert_frame_equal(
        fresh.drop(columns="value"), shipped.drop(columns="value"), check_dtype=False
    )
    assert fresh["value"].to_numpy() == pytest.approx(shipped["value"].to_numpy(), rel=1e-9)


def test_stored_once_and_never_over_loaded_statistics(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    stored = write_province_extract(lake)
    assert stored == len(read_province_extract()) == len(read_indicators(lake))
    assert write_province_extract(lake) == 0
    assert len(read_indicators(lake)) == stored


def test_the_monitor_api_shows_real_ratios_with_licences(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    write_province_extract(lake)
    with TestClient(create_app(Settings(lake_path=lake.root))) as client:
        body = client.get("/api/monitor/provinces").json()
    assert body["synthetic"] is False and set(body["vintages"]) == {"techme-2024", "census-2020"}
    rd = next(i for i in body["indicators"] if i["code"] == "rd_intensity")
    assert rd["year"] == 2023 and rd["ratio_text"].endswith(": 1")
    assert rd["values"]["110000"]["value"] == pytest.approx(6.73, abs=0.01)
    assert all("MIT" in cell["licence"] for cell in rd["values"].values())
    assert len(body["ranking"]["items"]) == 31
    assert any("Lei Dong" in licence for licence in body["licences"])


def test_a_fresh_demo_shows_real_statistics_on_the_monitor(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from urbanpulse.cli import app

    lake = tmp_path / "lake"
    args = ["demo", "--lake", str(lake), "--weeks", "1", "--no-serve"]
    first = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert first.exit_code == 0, first.output
    assert f"except {len(read_province_extract())} real provincial statistics" in first.output
    again = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert again.exit_code == 0 and "already in" in again.output
    assert "added" not in again.output  # stored once
    with TestClient(create_app(Settings(lake_path=lake))) as client:
        body = client.get("/api/monitor/provinces").json()
        page = client.get("/monitor").text
    rd = next(i for i in body["indicators"] if i["code"] == "rd_intensity")
    assert rd["ratio_text"] == "3.24 : 1.72 : 1"  # 2023: 6.73 : 3.58 : 2.08 % of GDP
    assert 'id="provinces-table"' in page and "3.24 : 1.72 : 1" in page
