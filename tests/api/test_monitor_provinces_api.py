"""GET /api/monitor/provinces: real provincial statistics, apart from the 13-city monitor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, upsert_indicators


def build_rows() -> pd.DataFrame:
    """R&D intensity and patents for four provinces, 2022-2023 (made-up, marked measured)."""
    rows = []
    for code, rd, patents in (
        ("110000", 6.0, 200.0),
        ("120000", 3.0, 40.0),
        ("130000", 2.0, 10.0),
        ("320000", 3.5, 60.0),
    ):
        for year in (2022, 2023):
            grow = 1.0 if year == 2022 else 1.1
            rows += [
                (code, year, "rd_intensity", rd * grow, "% of GDP", "test RDIntense", "t-1"),
                (
                    code,
                    year,
                    "invention_patents_valid_per_10k",
                    patents * grow,
                    "per 10,000 residents",
                    "test RDPatentValid",
                    "t-1",
                ),
            ]
    table = pd.DataFrame(
        rows, columns=["region_code", "year", "indicator", "value", "unit", "source", "vintage"]
    )
    return table.assign(synthetic=False)


@pytest.fixture(scope="module")
def provinces_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    lake = Lake(tmp_path_factory.mktemp("provinces") / "lake")
    upsert_indicators(lake, pa.Table.from_pandas(build_rows(), preserve_index=False))
    with TestClient(create_app(Settings(lake_path=lake.root))) as client:
        yield client


def test_provinces_are_real_with_ratios_ranking_and_sources(
    provinces_client: TestClient,
) -> None:
    response = provinces_client.get("/api/monitor/provinces")
    assert response.status_code == 200
    body = response.json()
    assert body["synthetic"] is False
    assert body["years"] == [2022, 2023] and body["vintages"] == ["t-1"]
    assert [a["name_en"] for a in body["areas"]] == ["Beijing", "Tianjin", "Hebei"]
    rd = next(i for i in body["indicators"] if i["code"] == "rd_intensity")
    assert rd["year"] == 2023 and rd["ratio_text"] == "3.00 : 1.50 : 1"
    assert rd["values"]["110000"] == {
        "value": pytest.approx(6.6),
        "source": "test RDIntense",
        "vintage": "t-1",
        "licence": "",  # neither techme's nor the census's
    }
    assert [r["region_code"] for r in body["ranking"]["items"]] == [
        "110000",
        "320000",
        "120000",
        "130000",
    ]
    assert body["ranking"]["items"][1]["name_zh"] == "江苏"
    years = {(r["indicator"], r["year"]) for r in body["ratios"]}
    assert ("invention_patents_valid_per_10k", 2022) in years
    gaps = {g["code"] for g in body["unsupplied"]}
    assert "sha_education_spending" in gaps and "inn_rd_expenditure" not in gaps


def test_provinces_do_not_change_the_city_monitor(provinces_client: TestClient) -> None:
    # Only provincial rows: the 13-city monitor still has nothing to show.
    assert provinces_client.get("/api/monitor").status_code == 404


def test_provinces_absent_is_a_404_saying_how_to_load(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(lake_path=tmp_path / "lake"))) as client:
        response = client.get("/api/monitor/provinces")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert "urbanpulse indices load-china" in error["message"]
