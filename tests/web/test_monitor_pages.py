"""The monitor page and its printable report, rendered by the server."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, upsert_indicators
from urbanpulse.twin.indicators import build_indicators


def build_monitor_lake(root: str) -> Lake:
    """A lake holding the demo's yearly indicators for the 13 cities."""
    lake = Lake(root)
    upsert_indicators(lake, pa.Table.from_pandas(build_indicators(2026), preserve_index=False))
    return lake


@pytest.fixture(scope="module")
def monitor_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    lake = build_monitor_lake(str(tmp_path_factory.mktemp("monitor-page") / "lake"))
    with TestClient(create_app(Settings(lake_path=lake.root))) as client:
        yield client


def test_monitor_page_has_every_part(monitor_client: TestClient) -> None:
    page = monitor_client.get("/monitor")
    assert page.status_code == 200
    for part in ("chart-series", "chart-map", "chart-coupling", "chart-disparity",
                 "ranking-table", "whatif", "trace-body", "monitor-data"):  # fmt: skip
        assert f'id="{part}"' in page.text, part
    assert 'id="synthetic-banner"' in page.text
    assert "500 seeded" in page.text  # the page says how many draws make the intervals
    assert page.text.count('<tr data-region="') == 13
    assert "北京" in page.text and "Hengshui" in page.text
    assert 'href="/monitor/report"' in page.text and "/api/monitor/export.xlsx" in page.text


def test_monitor_page_loads_nothing_from_outside(monitor_client: TestClient) -> None:
    page = monitor_client.get("/monitor").text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith(("/", "#")) for s in sources), sources


def test_report_is_self_contained_and_printable(monitor_client: TestClient) -> None:
    report = monitor_client.get("/monitor/report")
    assert report.status_code == 200
    assert "@media print" in report.text
    assert "<script" not in report.text and "<link" not in report.text
    assert report.text.count("<tr>") >= 13 + 13 + 11
    assert "Synthetic demo data" in report.text
    assert "good coordination" in report.text or "coordination" in report.text


def test_report_charts_are_inline_svg_named_in_the_readers_language(
    monitor_client: TestClient,
) -> None:
    english = monitor_client.get("/monitor/report").text
    charts = re.findall(r'<svg [^>]*role="img" aria-label="([^"]+)"', english)
    assert charts == [
        "Total score by city, 2024",
        "Total score by city on the map, 2024",
        "Total score over the years",
        "Coupling coordination degree D by city, 2024",
    ]
    ranking = english.split("<svg")[1].split("</svg>")[0]
    assert ranking.count("<rect") == 13 and ">Beijing<" in ranking and "rank " in ranking
    places = english.split("<svg")[2].split("</svg>")[0]
    # 13 cities' outlines (Langfang has two parts), each named with its score on it,
    # shaded in five steps of 0-100 shown in a legend
    assert places.count("<polygon") == 14 and places.count("<rect") == 5
    beijing = next(r for r in re.findall(r">([^<>]+)</text>", places) if r.startswith("Beijing "))
    assert re.fullmatch(r"Beijing \d+", beijing)
    assert "Apache ECharts" in english.split("</svg>")[2].split("</figure>")[0]
    trend = english.split("<svg")[3].split("</svg>")[0]
    assert trend.count("<polyline") == 13  # one line per city, labelled at its end
    chinese = monitor_client.get("/monitor/report", headers={"Accept-Language": "zh-CN"}).text
    assert ">北京<" in chinese.split("<svg")[1] and "各城市总得分（2024 年）" in chinese


def test_report_is_stamped_in_local_time_numbers_its_pages_and_names_no_api(
    monitor_client: TestClient,
) -> None:
    report = monitor_client.get("/monitor/report").text
    # the settings' zone (Asia/Shanghai by default), its offset said
    assert re.search(r"generated \d{4}-\d{2}-\d{2} \d{2}:\d{2} \(UTC\+08:00\)", report)
    assert "UTC by UrbanPulse" not in report
    assert "@bottom-right { content: counter(page)" in report
    assert "/api/" not in report and "<details" not in report and "<summary" not in report


def test_monitor_page_without_indicators_says_how_to_load_them(test_lake: Lake) -> None:
    with TestClient(create_app(Settings(lake_path=test_lake.root))) as client:
        page = client.get("/monitor")
    assert page.status_code == 200
    assert "urbanpulse indices load" in page.text


def test_menu_links_to_the_monitor(monitor_client: TestClient) -> None:
    assert 'href="/monitor"' in monitor_client.get("/").text
