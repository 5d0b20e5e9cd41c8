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
