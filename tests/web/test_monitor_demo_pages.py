"""The monitor as a fresh clone's demo shows it: real provincial statistics with their
licence, units on every per-resident table, the base-year index explained."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake


@pytest.fixture(scope="module")
def client(demo_lake: Lake) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(lake_path=demo_lake.root))) as test_client:
        yield test_client


def _table(html: str, table_id: str) -> str:
    return html.split(f'id="{table_id}"')[1].split("</table>")[0]


def test_the_demo_shows_real_beijing_tianjin_hebei_ratios(client: TestClient) -> None:
    html = client.get("/monitor").text
    assert 'id="synthetic-banner"' in html and "Real data · not synthetic" in html
    table = _table(html, "provinces-table")
    rows = re.findall(r'<tr data-indicator="(\w+)">(.*?)</tr>', table, re.S)
    assert {"rd_intensity", "residents_census", "education_spending_per_capita"} <= {
        code for code, _ in rows
    }
    ratios = dict(rows)
    # R&D intensity 2023: 6.73 / 2.08 and 3.58 / 2.08 (NBS via techme).
    assert re.search(r'class="num nowrap ratio">3\.2\d : 1\.7\d : 1<', ratios["rd_intensity"])
    for code, row in rows:
        assert "MIT licence" in row and ("techme-2024" in row or "census-2020" in row), code
        assert re.search(r'<span class="unit">[^<]+</span>', row), code
    assert client.get("/api/monitor/provinces").status_code == 200


@pytest.mark.parametrize("url", ["/monitor", "/monitor/report"])
def test_per_resident_tables_have_units(client: TestClient, url: str) -> None:
    table = _table(client.get(url).text, "ratios-table")
    assert "<th>Unit</th>" in table
    assert "yuan per resident" in table and "patents per 10,000 residents" in table


@pytest.mark.parametrize("url", ["/monitor", "/monitor/report"])
def test_the_base_year_index_is_explained(client: TestClient, url: str) -> None:
    note = client.get(url).text.split('id="base-year-note"')[1].split("</details>")[0]
    assert "100 is the city's own level in 2014" in note
    assert "A ratio has no ceiling" in note and re.search(r"stands at\s+\d+ in \d{4}", note)
