"""The monitor page in real headless Chromium: charts drawn, what-if sliders move ranks,
traces open, nothing fetched from outside, no sideways scrolling on a phone.
Screenshots go to test-artifacts/monitor-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, upsert_indicators
from urbanpulse.twin.indicators import build_indicators

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
CHARTS = ("chart-series", "chart-map", "chart-coupling", "chart-disparity")


@pytest.fixture(scope="module")
def monitor_server(tmp_path_factory: pytest.TempPathFactory, app_server: Any) -> Iterator[str]:
    """The app over a lake of demo indicators, served on a free 127.0.0.1 port."""
    lake = Lake(tmp_path_factory.mktemp("monitor-browser") / "lake")
    upsert_indicators(lake, pa.Table.from_pandas(build_indicators(2026), preserve_index=False))
    with app_server(create_app(Settings(lake_path=lake.root))) as url:
        yield url


@pytest.fixture
def open_monitor(browser: Any, monitor_server: str) -> Iterator[Any]:
    """Open /monitor at a viewport; returns (page, requests, errors) once charts are drawn."""
    contexts = []

    def open_page(viewport: dict[str, int]) -> tuple[Any, list[str], list[str]]:
        context = browser.new_context(viewport=viewport, device_scale_factor=1)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        requests: list[str] = []
        errors: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(monitor_server + "/monitor", wait_until="networkidle")
        for chart in CHARTS:
            page.wait_for_selector(f"#{chart}[data-rendered='true']")
        page.wait_for_selector("#ranking-table .shift")
        return page, requests, errors

    yield open_page
    for context in contexts:
        context.close()


def _ranking(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#ranking-table tbody td.whatif-rank", "cells => cells.map(c => c.textContent.trim())"
    )


def test_monitor_draws_every_chart_and_stays_local(
    open_monitor: Any, monitor_server: str, artifacts: Path
) -> None:
    page, requests, errors = open_monitor(DESKTOP)
    for chart in CHARTS:
        assert page.locator(f"#{chart} .main-svg").count() >= 1, chart
    assert page.locator("#synthetic-banner").is_visible()
    assert page.locator("#ranking-table tbody tr").count() == 13
    assert "D = " in page.locator("#coupling-band").inner_text()
    # the map draws the 13 cities' outlines under their markers, and says whence
    traces = page.evaluate(
        "() => document.getElementById('chart-map').data.map(d => [d.mode, d.x.length])"
    )
    assert traces[0][0] == "lines" and traces[0][1] > 13 * 20 and traces[1][0] == "markers+text"
    assert "Apache ECharts" in page.locator("#chart-map + p.note").inner_text()
    outside = [u for u in requests if not u.startswith((monitor_server + "/", "data:", "blob:"))]
    assert outside == [] and errors == []
    page.screenshot(path=str(artifacts / "monitor-desktop.png"), full_page=True)


def test_moving_a_weight_slider_changes_the_ranking(open_monitor: Any, artifacts: Path) -> None:
    page, _, errors = open_monitor(DESKTOP)
    before = _ranking(page)
    assert all(cell.endswith("=") for cell in before)
    with page.expect_response(lambda r: "/api/monitor/what-if" in r.url and "green=5" in r.url):
        page.locator("input[data-concept='green']").fill("5")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#ranking-table .shift')]"
        ".some(s => s.textContent.includes('▲') || s.textContent.includes('▼'))"
    )
    after = _ranking(page)
    assert after != before
    assert "cities change rank" in page.locator("#whatif-status").inner_text()
    # Rises and falls in one neutral colour, told apart by arrow and label, not red/green.
    marks = page.eval_on_selector_all(
        "#ranking-table .whatif-rank.up .shift, #ranking-table .whatif-rank.down .shift",
        "nodes => nodes.map(n => [getComputedStyle(n).color, n.getAttribute('aria-label')])",
    )
    assert marks and len({colour for colour, _ in marks}) == 1
    assert all(label.startswith(("up ", "down ")) for _, label in marks)
    assert errors == []
    page.locator("#whatif").screenshot(path=str(artifacts / "monitor-whatif.png"))
    page.locator("#ranking-table").screenshot(path=str(artifacts / "monitor-ranking.png"))


def test_clicking_a_score_shows_its_inputs(open_monitor: Any, artifacts: Path) -> None:
    page, _, errors = open_monitor(DESKTOP)
    page.locator("#ranking-table a.trace").first.click()
    page.wait_for_selector("#trace-body .trace-table")
    assert "Weight × value" in page.locator("#trace-body").inner_text()
    page.locator("#trace-body .trace-table a.trace").first.click()  # drill into a concept
    page.wait_for_selector("#trace-body .trace-table a.trace")
    page.locator("#trace-body .trace-table a.trace").first.click()  # and into an indicator
    page.wait_for_selector("#trace-body dl.trace-facts")
    text = page.locator("#trace-body").inner_text()
    assert "raw" in text and "normalised" in text and "Normalisation" in text
    assert errors == []
    page.locator("#trace").screenshot(path=str(artifacts / "monitor-trace.png"))


def test_monitor_fits_a_phone(open_monitor: Any, artifacts: Path) -> None:
    page, _, errors = open_monitor(PHONE)
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"page scrolls sideways by {overflow}px at phone width"
    assert errors == []
    page.screenshot(path=str(artifacts / "monitor-phone.png"), full_page=True)
