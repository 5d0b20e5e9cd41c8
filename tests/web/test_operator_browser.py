"""The operator page in headless Chromium: the measured effect of advice, advised
against holdout, with both sample sizes and the interval of the peak's cut, after a
restart of the server over the same lake."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake

pytestmark = pytest.mark.browser
DAY = "2026-11-02"  # the planning day of the demo lake


def _ask_on_default_line(url: str, line_id: str, riders: list[dict[str, str]]) -> None:
    """Each rider (an API key) asks once: a client's repeats count once."""
    lines = httpx.get(f"{url}/api/lines", timeout=30).json()["items"]
    stations = next(line for line in lines if line["line_id"] == line_id)["stations"]
    params = {"origin": stations[1]["site_id"], "destination": stations[4]["site_id"],
              "start": f"{DAY}T07:00", "end": f"{DAY}T09:30", "preferred": f"{DAY}T08:00"}  # fmt: skip
    for headers in riders:
        answer = httpx.post(f"{url}/api/advice", json=params, headers=headers, timeout=60)
        assert answer.status_code == 200 and answer.json()["repeat"] is False


def test_operator_page_shows_the_effect_with_sample_sizes_after_a_restart(
    demo_lake: Lake, browser: Any, app_server: Any, tmp_path: Path, grant: Any, sign_in: Any
) -> None:
    root = tmp_path / "lake"
    shutil.copytree(demo_lake.root, root, ignore=shutil.ignore_patterns("_advice"))
    settings = Settings(lake_path=root, advice_holdout_share=0.5)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    app = create_app(settings)
    # The operator page is for government; the key and the cookie outlive the restart.
    token = grant(app, "government")["Authorization"].removeprefix("Bearer ")
    with app_server(app) as url:
        sign_in(page, url, token, "/operator")
        line_id = page.input_value("#line")
        _ask_on_default_line(url, line_id, [grant(app, "business") for _ in range(12)])
    # A new server over the same lake: the counts were kept.
    with app_server(create_app(settings)) as url:
        page.goto(f"{url}/operator")
        page.wait_for_function("() => document.querySelector('#effect-summary').textContent")
        summary = page.locator("#effect-summary").inner_text()
        page.wait_for_selector("#effect-chart[data-rendered='true'] .main-svg")
        title = page.locator("#effect-chart .ytitle").text_content()
        flows = page.locator("#effect-flows").inner_text()
    context.close()
    assert summary.startswith("12 requests: advised n = ")
    assert "holdout n = " in summary and " of " in summary
    # twelve requests: below the minimum sample, the cut is given without an interval
    assert "95 % interval" not in summary
    assert "needs requests in both groups" in summary or "at least 20 requests" in summary
    assert title == "requests per 15-min slot"
    # The planning day is after the demo's last counts: the flows say they cannot tell.
    assert "count no riders on this day" in flows


def test_the_operator_page_opens_where_a_link_points_and_keeps_it(
    demo_lake: Lake, browser: Any, app_server: Any, grant: Any, sign_in: Any
) -> None:
    app = create_app(Settings(lake_path=demo_lake.root))
    token = grant(app, "government")["Authorization"].removeprefix("Bearer ")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        with app_server(app) as url:
            link = "/operator?line=bj-m2&site=bj-m2-s03&day=2026-10-29&effect_day=2026-11-03"
            sign_in(page, url, token, link)
            page.wait_for_function("() => document.querySelector('#effect-summary') !== null")
            assert page.input_value("#line") == "bj-m2"
            assert page.input_value("#site") == "bj-m2-s03"
            assert page.input_value("#day") == "2026-10-29"
            assert page.input_value("#effect-day") == "2026-11-03"
            assert page.locator("#effect-day-shown").inner_text() == "2026-11-03"
            # a change of station is kept in the address, for the next link
            page.select_option("#site", "bj-m2-s04")
            page.wait_for_function("() => location.search.includes('site=bj-m2-s04')")
            assert "effect_day=2026-11-03" in page.url
    finally:
        context.close()


@pytest.mark.parametrize(
    ("locale", "width", "first_station", "download"),
    [("en-US", 1280, "1. Pingguoyuan", "Download as CSV"), ("zh-CN", 390, "1. 苹果园", "下载 CSV")],
)
def test_the_line_by_period_is_a_heatmap_with_last_week_alerts_and_an_export(
    demo_lake: Lake, browser: Any, app_server: Any, grant: Any, sign_in: Any,
    locale: str, width: int, first_station: str, download: str,
) -> None:  # fmt: skip
    app = create_app(Settings(lake_path=demo_lake.root))
    token = grant(app, "government")["Authorization"].removeprefix("Bearer ")
    context = browser.new_context(viewport={"width": width, "height": 900}, locale=locale)
    page = context.new_page()
    try:
        with app_server(app) as url:
            sign_in(page, url, token, "/operator?line=bj-m1&site=bj-m1-s05&day=2026-10-31")
            page.wait_for_selector("#line-chart[data-rendered='true']")
            trace = page.evaluate(
                "() => { const d = document.getElementById('line-chart').data[0];"
                " return {type: d.type, rows: d.z.length, cols: d.z[0].length, y0: d.y[0],"
                " scale: d.colorscale}; }"
            )
            assert trace["type"] == "heatmap" and trace["cols"] == 96
            assert trace["rows"] == 23 and trace["y0"] == first_station
            assert page.locator("#line-day-shown").inner_text() == "2026-10-31"
            # alerts: rows, or the sentence that there were none
            alerts = page.locator("#alert-rows tr").count()
            assert alerts > 0 or page.locator("#alerts-empty").is_visible()
            # the change from a week before: a diverging scale around zero
            page.select_option("#line-view", "change")
            page.wait_for_function(
                "() => document.getElementById('line-chart').data[0].colorscale === 'RdBu'"
            )
            export = page.locator("#line-export")
            assert export.inner_text() == download
            href = export.get_attribute("href")
            assert href.endswith(
                "/api/operator/line-day.csv?line_id=bj-m1&day=2026-10-31&metric=load"
            )
            with page.expect_download() as saving:
                export.click()
            saved = Path(saving.value.path()).read_text(encoding="utf-8")
            first_cell = saved.lstrip("\ufeff").split(",")[0]
            assert first_cell == ("日期" if locale == "zh-CN" else "Day")
            # another measure of the same stations: riders boarding, totals per period,
            # named in the page's language and kept in the address
            labels = page.locator("#line-metric option").all_inner_texts()
            # each direction named by where its trains go, as platform signs do
            assert labels == (
                [
                    "列车满载率（较忙方向）",
                    "满载率（开往四惠东方向）",
                    "满载率（开往苹果园方向）",
                    "进站客流",
                ]
                if locale == "zh-CN"
                else [
                    "load of the trains (busier direction)",
                    "load, towards Sihui East",
                    "load, towards Pingguoyuan",
                    "boardings",
                ]
            )
            page.select_option("#line-metric", "boardings")
            page.wait_for_function("() => location.search.includes('metric=boardings')")
            page.wait_for_function(
                "() => document.getElementById('line-export').href.endsWith('metric=boardings')"
            )
            overflow = page.evaluate("() => document.documentElement.scrollWidth")
            assert overflow <= width
    finally:
        context.close()
